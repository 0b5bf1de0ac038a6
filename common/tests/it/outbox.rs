//! The outbox relay publishes what a transaction wrote, once, even across relay restarts.

use std::{collections::HashMap, time::Duration};

use common::{
    amqp::{
        Broker, ConsumerSpec, ExchangeRole, OutboxSignal, QueueSpec, Topology, decode, outbox,
        spawn_consumer, spawn_relay,
    },
    postgres::Database,
    test_support::{TestContext, eventually},
};
use contracts::{Envelope, Message};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::migrations;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ThingDone {
    number: u32,
}

impl Message for ThingDone {
    const TYPE: &'static str = "thing.done";
    const VERSION: u16 = 1;
}

const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A database with the outbox, and a broker whose `things` queue receives `thing.done` and
/// `things.listed`.
async fn outbox_with_a_queue() -> (TestContext, Database, Broker, CancellationToken) {
    let context = TestContext::new();
    let amqp = context.amqp();
    let topology = Topology::new(&amqp.namespace, amqp.delivery_limit).with_queue(
        QueueSpec::new("things")
            .bind(ExchangeRole::Events, ThingDone::TYPE)
            .bind(ExchangeRole::Events, ThingsListed::TYPE),
    );
    context.track_topology(&topology);
    let shutdown = CancellationToken::new();
    let database = Database::open(
        &context.postgres("platform"),
        migrations::runner,
        shutdown.clone(),
    )
    .await
    .expect("database");
    let broker = Broker::start(amqp, topology, shutdown.clone()).await;
    (context, database, broker, shutdown)
}

/// A consumer of the `things` queue.
fn consume_things<F, Fut>(
    broker: &Broker,
    shutdown: &CancellationToken,
    handler: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(lapin::message::Delivery) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), common::amqp::HandlerError>> + Send + 'static,
{
    let spec = ConsumerSpec {
        queue: "things".to_owned(),
        prefetch_count: 16,
    };
    spawn_consumer(broker.clone(), spec, handler, shutdown.clone())
}

#[tokio::test]
async fn committed_outbox_rows_are_published_exactly_once_even_when_the_relay_restarts() {
    let (_context, database, broker, shutdown) = outbox_with_a_queue().await;
    let seen: Arc<Mutex<HashMap<Uuid, u32>>> = Arc::default();
    let counted = seen.clone();
    let _consumer = consume_things(&broker, &shutdown, move |delivery| {
        let counted = counted.clone();
        async move {
            let envelope = decode::<ThingDone>(&delivery)?;
            *counted
                .lock()
                .expect("not poisoned")
                .entry(envelope.id)
                .or_default() += 1;
            Ok(())
        }
    });
    let mut client = database.pool().get().await.expect("connection");
    let transaction = client.transaction().await.expect("transaction");
    for number in 0..10 {
        let envelope = Envelope::new(Uuid::now_v7(), ThingDone { number });
        outbox::enqueue(&transaction, ExchangeRole::Events, &envelope)
            .await
            .expect("enqueued");
    }
    transaction.commit().await.expect("commit");

    // First relay publishes, then stops; a second one starts over the same table.
    let first_stop = CancellationToken::new();
    let first = spawn_relay(
        database.pool().clone(),
        broker.clone(),
        OutboxSignal::default(),
        RETENTION,
        first_stop.clone(),
    );
    let all_seen = || async { seen.lock().expect("not poisoned").len() == 10 };
    assert!(eventually(Duration::from_secs(10), all_seen).await);
    first_stop.cancel();
    first.await.expect("the relay stops");
    let second_stop = CancellationToken::new();
    let second = spawn_relay(
        database.pool().clone(),
        broker.clone(),
        OutboxSignal::default(),
        RETENTION,
        second_stop.clone(),
    );
    let republished = outbox::relay_batch(database.pool(), &broker)
        .await
        .expect("a batch runs");

    assert_eq!(republished, 0, "nothing is left to publish");
    second_stop.cancel();
    second.await.expect("the relay stops");
    let seen = seen.lock().expect("not poisoned").clone();
    assert_eq!(seen.len(), 10);
    assert!(seen.values().all(|count| *count == 1), "{seen:?}");
    let unpublished: i64 = client
        .query_one(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(unpublished, 0);
    shutdown.cancel();
}

/// A batch-sized message, like `purchases.decided` at a drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ThingsListed {
    names: Vec<String>,
    total: u64,
}

impl Message for ThingsListed {
    const TYPE: &'static str = "things.listed";
    const VERSION: u16 = 1;
}

#[tokio::test]
async fn a_message_is_stored_and_published_as_the_bytes_it_was_serialised_to() {
    let (_context, database, broker, shutdown) = outbox_with_a_queue().await;
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = received.clone();
    let _consumer = consume_things(&broker, &shutdown, move |delivery| {
        let sink = sink.clone();
        async move {
            sink.lock().expect("not poisoned").push(delivery.data);
            Ok(())
        }
    });
    let envelope = Envelope::new(
        Uuid::now_v7(),
        ThingsListed {
            names: (0..2_000).map(|n| format!("thing number {n}")).collect(),
            total: 2_000,
        },
    );
    let serialised = serde_json::to_vec(&envelope).expect("serialises");
    assert!(
        serialised.len() > 30_000,
        "large enough to be stored out of line"
    );
    let client = database.pool().get().await.expect("connection");
    outbox::enqueue(&client, ExchangeRole::Events, &envelope)
        .await
        .expect("enqueued");

    let row = client
        .query_one(
            "SELECT body, pg_column_compression(body), body::jsonb->'payload'->>'total'
             FROM outbox WHERE message_id = $1",
            &[&envelope.id],
        )
        .await
        .expect("the row");
    assert_eq!(row.get::<_, &str>(0).as_bytes(), serialised.as_slice());
    assert_eq!(row.get::<_, Option<&str>>(1), Some("lz4"));
    assert_eq!(row.get::<_, &str>(2), "2000", "still readable as JSON");
    assert_eq!(
        outbox::relay_batch(database.pool(), &broker)
            .await
            .expect("published"),
        1
    );
    let published = || async { !received.lock().expect("not poisoned").is_empty() };
    assert!(eventually(Duration::from_secs(10), published).await);
    assert_eq!(received.lock().expect("not poisoned")[0], serialised);
    shutdown.cancel();
}

#[tokio::test]
async fn an_inbox_record_makes_a_redelivered_message_a_no_op() {
    let context = TestContext::new();
    let shutdown = CancellationToken::new();
    let database = Database::open(
        &context.postgres("platform"),
        migrations::runner,
        shutdown.clone(),
    )
    .await
    .expect("database");
    let client = database.pool().get().await.expect("connection");
    let message_id = Uuid::now_v7();

    let first = outbox::record_processed(&client, "tests", message_id)
        .await
        .expect("recorded");
    let again = outbox::record_processed(&client, "tests", message_id)
        .await
        .expect("recorded");

    assert!(first);
    assert!(!again);
    shutdown.cancel();
}

#[tokio::test]
async fn published_rows_past_their_retention_are_deleted_and_nothing_else() {
    let (_context, database, broker, shutdown) = outbox_with_a_queue().await;
    let client = database.pool().get().await.expect("connection");
    // 2,500 rows published eleven days ago (more than two chunks)...
    client
        .batch_execute(
            "INSERT INTO outbox (message_id, exchange, routing_key, correlation_id, body,
                                 created_at, published_at)
             SELECT gen_random_uuid(), 'events', 'thing.done', gen_random_uuid(), '{}',
                    now() - interval '11 days', now() - interval '11 days'
             FROM generate_series(1, 2500)",
        )
        .await
        .expect("old rows");
    // ...five published now...
    for number in 0..5 {
        let envelope = Envelope::new(Uuid::now_v7(), ThingDone { number });
        outbox::enqueue(&client, ExchangeRole::Events, &envelope)
            .await
            .expect("enqueued");
    }
    assert_eq!(
        outbox::relay_batch(database.pool(), &broker)
            .await
            .expect("published"),
        5
    );
    // ...and one written a month ago that was never published: it must stay whatever its age.
    client
        .batch_execute(
            "INSERT INTO outbox (message_id, exchange, routing_key, correlation_id, body,
                                 created_at)
             VALUES (gen_random_uuid(), 'events', 'thing.done', gen_random_uuid(), '{}',
                     now() - interval '30 days')",
        )
        .await
        .expect("an unpublished row");

    let cutoff = time::OffsetDateTime::now_utc() - RETENTION;
    let pruned = outbox::prune_published(database.pool(), cutoff)
        .await
        .expect("pruned");
    assert_eq!(pruned, 2_500);
    let left: Vec<(bool, i64)> = client
        .query(
            "SELECT published_at IS NOT NULL, count(*) FROM outbox GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .expect("counts")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(left, [(false, 1), (true, 5)]);
    let again = outbox::prune_published(database.pool(), cutoff)
        .await
        .expect("pruned");
    assert_eq!(again, 0);
    shutdown.cancel();
}
