//! The group commit of admitted purchases, against the real broker.

use client_service::flows::queueing::PurchaseQueue;
use common::{
    amqp::{Broker, ExchangeRole, QueueSpec, Topology},
    test_support::{TestContext, take_message},
};
use contracts::{
    Envelope,
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, Selection, shard_routing_key},
};
use prometheus_client::registry::Registry;
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
    let purchases = PurchaseQueue::start(broker.clone(), 1, &mut Registry::default());
    let requests: Vec<PurchaseRequestedV1> = (0..300).map(|_| request(Uuid::now_v7())).collect();

    let outcomes = futures::future::join_all(
        requests
            .iter()
            .map(|request| purchases.queue(request.clone())),
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
    broker.close().await;
    shutdown.cancel();
}
