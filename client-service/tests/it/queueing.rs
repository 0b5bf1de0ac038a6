//! The group commit of admitted purchases, against the real broker.

use client_service::flows::{
    idempotency::{self, ClaimState},
    queueing::PurchaseQueue,
};
use common::{
    amqp::{Broker, ExchangeRole, QueueSpec, Topology},
    redis::RedisStore,
    test_support::{TestContext, take_message},
};
use contracts::{
    Envelope,
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, Selection, shard_routing_key},
};
use prometheus_client::registry::Registry;
use redis::AsyncCommands;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn request(event_id: Uuid) -> PurchaseRequestedV1 {
    PurchaseRequestedV1 {
        purchase_id: Uuid::now_v7(),
        buyer_id: Uuid::now_v7(),
        event_id,
        selection: Selection::BestAvailable {
            tier_id: Uuid::now_v7(),
            quantity: 1,
        },
        requested_at: OffsetDateTime::now_utc(),
    }
}

/// The key under which admission would have claimed `request`.
fn key_of(request: &PurchaseRequestedV1) -> String {
    format!("key-{}", request.purchase_id)
}

#[tokio::test]
async fn concurrent_requests_share_messages_and_each_is_queued_exactly_once() {
    let context = TestContext::new();
    let amqp = context.amqp();
    let topology = Topology::new(&amqp.namespace, amqp.delivery_limit).with_queue(
        QueueSpec::new("purchases").bind(ExchangeRole::Commands, &shard_routing_key(0)),
    );
    context.track_topology(&topology);
    let queue_name = topology.queue("purchases");
    let shutdown = CancellationToken::new();
    let broker = Broker::start(amqp.clone(), topology, shutdown.clone()).await;
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let purchases =
        PurchaseQueue::start(broker.clone(), redis.clone(), 1, &mut Registry::default());
    let requests: Vec<PurchaseRequestedV1> = (0..300).map(|_| request(Uuid::now_v7())).collect();
    // Each request's key as admission leaves it: `admitted`, waiting for the confirm.
    for request in &requests {
        let claim = format!(
            "admitted|{}|{}|fingerprint|admitted",
            request.requested_at.unix_timestamp() * 1_000,
            request.purchase_id
        );
        let () = redis
            .connection()
            .hset(
                idempotency::claims_key(&redis, request.buyer_id),
                key_of(request),
                claim,
            )
            .await
            .expect("claimed");
    }

    let outcomes = futures::future::join_all(
        requests
            .iter()
            .map(|request| async { purchases.queue(request.clone(), &key_of(request)).await }),
    )
    .await;

    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let mut messages = 0;
    let mut queued = Vec::new();
    while let Some(body) = take_message(&amqp, &queue_name).await.expect("a queue") {
        let message: Envelope<PurchasesRequestedV1> =
            serde_json::from_slice(&body).expect("a purchases.requested message");
        messages += 1;
        queued.extend(message.payload.requests);
    }
    assert!(
        messages < 300 / 2,
        "300 requests at once went out in {messages} messages"
    );
    queued.sort_by_key(|request| request.purchase_id);
    let mut expected = requests;
    expected.sort_by_key(|request| request.purchase_id);
    assert_eq!(queued, expected, "every request once, as it was asked");
    for request in &expected {
        let claim = idempotency::read(&redis, request.buyer_id, &key_of(request))
            .await
            .expect("read")
            .expect("still claimed");
        assert_eq!(claim.state, ClaimState::Accepted, "{}", request.purchase_id);
    }
    broker.close().await;
    shutdown.cancel();
}
