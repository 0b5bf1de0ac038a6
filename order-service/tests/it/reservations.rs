//! order-service on its own, fed straight from the broker: inventory builds, poison messages,
//! and a crash in the middle of a batch.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    amqp::{Broker, ExchangeRole, OutgoingMessage, Topology},
    availability,
    config::AmqpConfig,
    redis::RedisStore,
    test_support::{TestContext, connect_database, eventually, queue_consumers, queue_depth},
};
use contracts::{
    Envelope, Message,
    events::{EventPublishedV1, EventRepricedV1, PublishedArea, PublishedTier, TierPrice},
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, Selection, purchase_routing_key},
};
use futures::{StreamExt, stream};
use order_service::{config::Config, test_support};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn event(per_buyer_limit: u32, seats: usize, standing: u32) -> EventPublishedV1 {
    EventPublishedV1 {
        event_id: Uuid::now_v7(),
        organiser_id: Uuid::now_v7(),
        sales_open_at: OffsetDateTime::now_utc() - time::Duration::minutes(1),
        sales_close_at: None,
        per_buyer_limit,
        tiers: vec![
            PublishedTier {
                tier_id: Uuid::now_v7(),
                price_minor: 5_000,
                currency: "EUR".to_owned(),
                seat_ids: (0..seats).map(|_| Uuid::now_v7()).collect(),
                areas: Vec::new(),
            },
            PublishedTier {
                tier_id: Uuid::now_v7(),
                price_minor: 3_000,
                currency: "EUR".to_owned(),
                seat_ids: Vec::new(),
                areas: vec![PublishedArea {
                    area_id: Uuid::now_v7(),
                    capacity: standing,
                }],
            },
        ],
    }
}

/// A publisher in the test's namespace.
struct Publisher {
    broker: Broker,
    shards: u16,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Publisher {
    async fn new(amqp: &AmqpConfig) -> Self {
        let shutdown = CancellationToken::new();
        let broker = Broker::start(
            amqp.clone(),
            Topology::new(&amqp.namespace, amqp.delivery_limit),
            shutdown.clone(),
        )
        .await;
        Self {
            broker,
            shards: amqp.purchase_queue_shards,
            _shutdown: shutdown.drop_guard(),
        }
    }

    async fn send(&self, exchange: ExchangeRole, routing_key: &str, id: Uuid, body: &[u8]) {
        self.broker
            .publish(OutgoingMessage {
                exchange,
                routing_key,
                message_id: id,
                correlation_id: id,
                body,
            })
            .await
            .expect("published");
    }

    async fn publish_event(&self, envelope: &Envelope<EventPublishedV1>) {
        let body = serde_json::to_vec(envelope).expect("serialises");
        self.send(
            ExchangeRole::Events,
            EventPublishedV1::TYPE,
            envelope.id,
            &body,
        )
        .await;
    }

    async fn request(&self, event_id: Uuid, tier_id: Uuid, buyer_id: Uuid) -> Uuid {
        let purchase_id = Uuid::now_v7();
        let envelope = Envelope::new(
            purchase_id,
            PurchasesRequestedV1 {
                requests: vec![PurchaseRequestedV1 {
                    purchase_id,
                    buyer_id,
                    event_id,
                    selection: Selection::BestAvailable {
                        tier_id,
                        quantity: 1,
                    },
                    requested_at: OffsetDateTime::now_utc(),
                }],
            },
        );
        let routing_key = purchase_routing_key(event_id, self.shards);
        self.broker
            .publish_envelope(ExchangeRole::Commands, &routing_key, &envelope)
            .await
            .expect("published");
        purchase_id
    }
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    match db.query_one(sql, &[]).await {
        Ok(row) => row.get(0),
        Err(_) => -1, // Not migrated yet.
    }
}

async fn wait_reserved(db: &tokio_postgres::Client, orders: i64) {
    assert!(
        eventually(Duration::from_secs(20), || async {
            count(db, "SELECT count(*) FROM orders WHERE state = 'reserved'").await == orders
        })
        .await,
        "{orders} orders reserved"
    );
}

/// The service's own pool over the test's database (its connection settings included).
async fn service_database(postgres: &common::config::PostgresConfig) -> common::postgres::Database {
    common::postgres::Database::open(
        postgres,
        order_service::storage::migrations::runner,
        CancellationToken::new(),
    )
    .await
    .expect("the database")
}

async fn wait_built(redis: &RedisStore, event_id: Uuid) {
    assert!(
        eventually(Duration::from_secs(60), || async {
            availability::is_built(redis, event_id)
                .await
                .unwrap_or(false)
        })
        .await,
        "the event's counters were built"
    );
}

/// order-service running in the test's process, and what the test needs to talk to it.
struct Harness {
    postgres: common::config::PostgresConfig,
    amqp: AmqpConfig,
    publisher: Publisher,
    redis: RedisStore,
    _app: common::test_support::TestApp,
}

impl Harness {
    async fn start() -> Self {
        let context = Arc::new(TestContext::new());
        let config = test_config(&context);
        let postgres = config.postgres.clone();
        let amqp = config.amqp.clone();
        let redis = RedisStore::open(&context.redis()).expect("redis");
        let app = test_support::spawn(context, config).await;
        let publisher = Publisher::new(&amqp).await;
        Self {
            postgres,
            amqp,
            publisher,
            redis,
            _app: app,
        }
    }
}

fn test_config(context: &TestContext) -> Config {
    test_support::config(context, crate::helpers::no_tokens())
}

#[tokio::test]
async fn a_60000_place_event_is_built_once_with_its_counters() {
    let harness = Harness::start().await;
    let event = event(6, 40_000, 20_000);
    let envelope = Envelope::new(Uuid::now_v7(), event.clone());

    let started = Instant::now();
    harness.publisher.publish_event(&envelope).await;
    wait_built(&harness.redis, event.event_id).await;
    eprintln!("60,000 places built in {:?}", started.elapsed());
    harness.publisher.publish_event(&envelope).await;
    let mut republished = envelope.clone();
    republished.id = Uuid::now_v7();
    harness.publisher.publish_event(&republished).await;

    let db = connect_database(&harness.postgres).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            count(&db, "SELECT count(*) FROM inbox").await == 2
        })
        .await
    );
    assert_eq!(count(&db, "SELECT count(*) FROM places").await, 60_000);
    let remaining = availability::read_remaining(&harness.redis, event.event_id)
        .await
        .expect("redis")
        .expect("built");
    assert_eq!(remaining[&event.tiers[0].tier_id], 40_000);
    assert_eq!(remaining[&event.tiers[1].tier_id], 20_000);
}

#[tokio::test]
async fn a_malformed_purchase_message_is_dead_lettered_and_does_not_block_the_others() {
    let harness = Harness::start().await;
    let event = event(4, 0, 10);
    harness
        .publisher
        .publish_event(&Envelope::new(Uuid::now_v7(), event.clone()))
        .await;
    wait_built(&harness.redis, event.event_id).await;
    let tier_id = event.tiers[1].tier_id;

    let routing_key = purchase_routing_key(event.event_id, harness.amqp.purchase_queue_shards);
    harness
        .publisher
        .send(
            ExchangeRole::Commands,
            &routing_key,
            Uuid::now_v7(),
            b"{not json",
        )
        .await;
    for _ in 0..3 {
        harness
            .publisher
            .request(event.event_id, tier_id, Uuid::now_v7())
            .await;
    }

    let db = connect_database(&harness.postgres).await;
    wait_reserved(&db, 3).await;
    let dead_letters = format!("{}.dead-letter", harness.amqp.namespace);
    assert!(
        eventually(Duration::from_secs(10), || async {
            queue_depth(&harness.amqp, &dead_letters).await.unwrap_or(0) == 1
        })
        .await,
        "the malformed message is in the dead-letter queue"
    );
}

/// order-service as a real process, so that it can be killed without any chance to clean up.
/// Killed when dropped too, so that a failing test leaves no process behind.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        if let Err(error) = self.0.kill() {
            eprintln!("killing order-service: {error}");
        }
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start_process(config: &Config) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_order-service"))
        .env(
            "TICKETING_POSTGRES_URL",
            config.postgres.server_url.expose(),
        )
        .env("TICKETING_ORDER_DATABASE", &config.postgres.database)
        .env("TICKETING_REDIS_URL", config.redis.url.expose())
        .env("TICKETING_REDIS_KEY_PREFIX", &config.redis.key_prefix)
        .env("TICKETING_AMQP_URL", config.amqp.url.expose())
        .env("TICKETING_AMQP_NAMESPACE", &config.amqp.namespace)
        .env("TICKETING_ORDER_PORT", "0")
        .env("TICKETING_RESERVATION_BATCH", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("order-service starts");
    Process(child)
}

/// Waits until the process consumes, which it does once its queues are declared and bound
/// (before that, messages are not routed; a queue can exist before its binding does).
async fn wait_consuming(amqp: &AmqpConfig) {
    let queue = format!("{}.order.event-updates", amqp.namespace);
    assert!(
        eventually(Duration::from_secs(30), || async {
            queue_consumers(amqp, &queue)
                .await
                .is_ok_and(|consumers| consumers > 0)
        })
        .await,
        "order-service consumes"
    );
}

#[tokio::test]
async fn killed_in_the_middle_of_a_batch_and_restarted_it_loses_and_doubles_nothing() {
    let context = Arc::new(TestContext::new());
    let config = test_config(&context);
    context.track_topology(&order_service::startup::topology(&config));
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let mut first = start_process(&config);
    wait_consuming(&config.amqp).await;
    let publisher = Publisher::new(&config.amqp).await;
    let event = event(10, 0, 1_000);
    publisher
        .publish_event(&Envelope::new(Uuid::now_v7(), event.clone()))
        .await;
    wait_built(&redis, event.event_id).await;
    let tier_id = event.tiers[1].tier_id;
    let buyers: Vec<Uuid> = (0..500).map(|_| Uuid::now_v7()).collect();
    let purchases: Vec<Uuid> = stream::iter(0..1_500)
        .map(|index| publisher.request(event.event_id, tier_id, buyers[index % 500]))
        .buffer_unordered(100)
        .collect()
        .await;

    let db = connect_database(&config.postgres).await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            count(&db, "SELECT count(*) FROM orders").await >= 50
        })
        .await
    );
    first.kill();
    let at_kill = count(&db, "SELECT count(*) FROM orders").await;
    assert!(at_kill < 1_500, "the kill came before the end ({at_kill})");

    let mut second = start_process(&config);
    let all_decided = eventually(Duration::from_secs(60), || async {
        count(&db, "SELECT count(*) FROM orders").await == 1_500
    })
    .await;
    second.kill();
    assert!(all_decided, "every request was decided after the restart");

    let ids: i64 = db
        .query_one(
            "SELECT count(DISTINCT purchase_id) FROM orders WHERE purchase_id = ANY($1)",
            &[&purchases],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(ids, 1_500);
    assert_eq!(
        count(
            &db,
            "SELECT coalesce(sum(quantity), 0) FROM orders WHERE state = 'reserved'"
        )
        .await,
        1_000
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM orders WHERE state = 'rejected'").await,
        500
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM order_places WHERE active").await,
        count(
            &db,
            "SELECT count(DISTINCT place_id) FROM order_places WHERE active"
        )
        .await
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT decision->>'purchase_id')
             FROM outbox,
                  jsonb_array_elements((body::jsonb->'payload'->'reserved')
                                       || (body::jsonb->'payload'->'rejected')) AS decision
             WHERE routing_key = 'purchases.decided'"
        )
        .await,
        1_500,
        "every purchase decided in the outbox"
    );
    assert_eq!(
        count(
            &db,
            "SELECT coalesce(sum(jsonb_array_length(body::jsonb->'payload'->'reserved')
                                 + jsonb_array_length(body::jsonb->'payload'->'rejected')), 0)
             FROM outbox WHERE routing_key = 'purchases.decided'"
        )
        .await,
        1_500,
        "each purchase told once, whatever was redelivered"
    );
}

#[tokio::test]
async fn a_repriced_tier_charges_its_new_price_to_later_orders() {
    let harness = Harness::start().await;
    let event = event(4, 0, 10);
    let tier_id = event.tiers[1].tier_id;
    harness
        .publisher
        .publish_event(&Envelope::new(Uuid::now_v7(), event.clone()))
        .await;
    let repriced = EventRepricedV1 {
        event_id: event.event_id,
        prices: vec![TierPrice {
            tier_id,
            price_minor: 9_999,
        }],
    };
    harness
        .publisher
        .broker
        .publish_envelope(
            ExchangeRole::Events,
            EventRepricedV1::TYPE,
            &Envelope::new(Uuid::now_v7(), repriced),
        )
        .await
        .expect("published");
    wait_built(&harness.redis, event.event_id).await;
    let db = connect_database(&harness.postgres).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            count(&db, "SELECT count(*) FROM tiers WHERE price_minor = 9999").await == 1
        })
        .await
    );

    harness
        .publisher
        .request(event.event_id, tier_id, Uuid::now_v7())
        .await;

    assert!(
        eventually(Duration::from_secs(10), || async {
            count(
                &db,
                "SELECT count(*) FROM orders WHERE state = 'reserved' AND amount_minor = 9999",
            )
            .await
                == 1
        })
        .await
    );
}

/// The plan of `sql` with `params`, as Postgres' JSON.
async fn plan(
    db: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> serde_json::Value {
    let row = db
        .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), params)
        .await
        .expect("explained");
    row.get::<_, serde_json::Value>(0)[0]["Plan"].clone()
}

#[tokio::test]
async fn a_published_event_is_known_to_the_planner_before_its_places_are_locked() {
    let harness = Harness::start().await;
    // The first event is in the statistics; the second arrives after them, as at a drop.
    for event in [event(6, 3_000, 3_000), event(6, 3_000, 3_000)] {
        harness
            .publisher
            .publish_event(&Envelope::new(Uuid::now_v7(), event.clone()))
            .await;
        wait_built(&harness.redis, event.event_id).await;
        let database = service_database(&harness.postgres).await;
        let db = database.pool().get().await.expect("a connection");

        let places = plan(
            &db,
            "SELECT * FROM places WHERE event_id = $1",
            &[&event.event_id],
        )
        .await;
        let estimated = places["Plan Rows"].as_f64().expect("an estimate");
        assert!(
            (3_000.0..=12_000.0).contains(&estimated),
            "the planner expects {estimated} places for an event of 6,000"
        );

        let standing = event.tiers[1].tier_id;
        let lock = plan(
            &db,
            order_service::storage::orders::LOCK_BEST_AVAILABLE,
            &[&event.event_id, &standing, &40_i64],
        )
        .await
        .to_string();
        assert!(
            lock.contains("places_available") && !lock.contains("\"Sort\""),
            "best-available reads the free places in order from their index: {lock}"
        );
    }
}

#[tokio::test]
async fn the_seats_taken_are_counted_from_the_free_places() {
    let harness = Harness::start().await;
    let event = event(6, 20, 10);
    let (seated, standing) = (event.tiers[0].tier_id, event.tiers[1].tier_id);
    harness
        .publisher
        .publish_event(&Envelope::new(Uuid::now_v7(), event.clone()))
        .await;
    wait_built(&harness.redis, event.event_id).await;
    for tier_id in [seated, seated, seated, standing, standing] {
        harness
            .publisher
            .request(event.event_id, tier_id, Uuid::now_v7())
            .await;
    }
    let db = connect_database(&harness.postgres).await;
    wait_reserved(&db, 5).await;

    let database = service_database(&harness.postgres).await;
    let client = database.pool().get().await.expect("a connection");
    let availability = order_service::storage::inventory::availability(&client, event.event_id)
        .await
        .expect("read");
    let mut by_tier = availability.by_tier.clone();
    by_tier.sort_unstable();
    let mut expected = vec![(seated, 17), (standing, 8)];
    expected.sort_unstable();
    assert_eq!(by_tier, expected);
    assert_eq!(availability.taken_seats, 3);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM places WHERE area_id IS NULL AND state <> 'available'"
        )
        .await,
        3
    );
}
