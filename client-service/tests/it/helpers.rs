//! `spawn_app`: client-service built by the same `startup::build` as production, on a free port,
//! with its own database, Redis prefix, broker namespace and bucket (`TestContext`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use account_service::{test_support::token_verification, tokens::TokenIssuer};
use client_service::{
    config::{Config, UpstreamConfig},
    startup,
};
use common::{
    config::{LogFormat, PostgresConfig},
    redis::RedisStore,
    test_support::{TestApp, TestContext, connect_database, eventually, publish_event},
};
use contracts::{
    Envelope, Message,
    accounts::Role,
    events::{EventPublishedV1, PublishedArea, PublishedTier},
};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let context = TestContext::new();
    let mut config = base_config(&context);
    adjust(&mut config);
    context.track_topology(&startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = startup::build(config, shutdown.clone())
        .await
        .expect("client-service builds");
    TestApp::start(app, shutdown, context)
}

fn base_config(context: &TestContext) -> Config {
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        redis: context.redis(),
        amqp: context.amqp(),
        tokens: token_verification("http://127.0.0.1:1/jwks"),
        upstreams: test_upstreams(),
        purchase_max_in_flight: 512,
    }
}

/// Nothing listens on port 1: tests that need an upstream point to a real one.
fn test_upstreams() -> UpstreamConfig {
    UpstreamConfig {
        account_url: "http://127.0.0.1:1".to_owned(),
        event_url: "http://127.0.0.1:1".to_owned(),
        order_url: "http://127.0.0.1:1".to_owned(),
        ticket_url: "http://127.0.0.1:1".to_owned(),
        delivery_url: "http://127.0.0.1:1".to_owned(),
        connect_timeout: Duration::from_millis(500),
        // Above the slowest sandbox payment the tests make.
        read_timeout: Duration::from_secs(15),
        max_idle_connections_per_upstream: 16,
    }
}

/// The gateway in front of a real account-service (each with its own isolation).
pub(crate) async fn spawn_gateway_with_accounts() -> (TestApp, TestApp) {
    let accounts = account_service::test_support::spawn().await;
    let account_url = accounts.address.clone();
    let gateway = spawn_app_with(|config| config.upstreams.account_url = account_url).await;
    (gateway, accounts)
}

/// The purchase path for real: account-service (issuing tokens), order-service instances and
/// gateways sharing one `TestContext`, so they share the broker namespace, the Redis prefix
/// and the orders database.
pub(crate) struct Pipeline {
    pub(crate) gateways: Vec<TestApp>,
    pub(crate) orders: Vec<TestApp>,
    pub(crate) context: Arc<TestContext>,
    orders_database: PostgresConfig,
    gateway_template: Config,
    issuer: TokenIssuer,
    _accounts: TestApp,
}

/// One gateway and one order-service.
pub(crate) async fn spawn_pipeline() -> Pipeline {
    spawn_pipeline_with(1, 1, |_| {}).await
}

pub(crate) async fn spawn_pipeline_with(
    gateways: usize,
    orders: usize,
    adjust_orders: impl Fn(&mut order_service::config::Config),
) -> Pipeline {
    let (accounts, issuer) = account_service::test_support::spawn_with_issuer().await;
    let jwks_url = accounts.url("/.well-known/jwks.json");
    let context = Arc::new(TestContext::new());
    let mut order_services = Vec::new();
    let mut orders_database = None;
    for _ in 0..orders {
        let mut config =
            order_service::test_support::config(&context, token_verification(&jwks_url));
        adjust_orders(&mut config);
        orders_database = Some(config.postgres.clone());
        order_services.push(order_service::test_support::spawn(context.clone(), config).await);
    }
    let gateway_template = Config {
        tokens: token_verification(&jwks_url),
        upstreams: UpstreamConfig {
            order_url: order_services[0].address.clone(),
            ..test_upstreams()
        },
        ..base_config(&context)
    };
    let mut pipeline = Pipeline {
        gateways: Vec::new(),
        orders: order_services,
        context,
        orders_database: orders_database.expect("at least one order-service"),
        gateway_template,
        issuer,
        _accounts: accounts,
    };
    for _ in 0..gateways {
        pipeline.add_gateway(|_| {}).await;
    }
    pipeline
}

/// An event on sale since a minute ago, as event-service would publish it.
pub(crate) fn event_on_sale(per_buyer_limit: u32, tiers: Vec<PublishedTier>) -> EventPublishedV1 {
    EventPublishedV1 {
        event_id: Uuid::now_v7(),
        organiser_id: Uuid::now_v7(),
        sales_open_at: OffsetDateTime::now_utc() - time::Duration::minutes(1),
        sales_close_at: None,
        per_buyer_limit,
        tiers,
    }
}

/// A tier of `capacity` general-admission places in one area.
pub(crate) fn standing_tier(capacity: u32) -> PublishedTier {
    PublishedTier {
        tier_id: Uuid::now_v7(),
        price_minor: 4_500,
        currency: "EUR".to_owned(),
        seat_ids: Vec::new(),
        areas: vec![PublishedArea {
            area_id: Uuid::now_v7(),
            capacity,
        }],
    }
}

/// A tier of `seats` numbered seats.
pub(crate) fn seated_tier(seats: usize) -> PublishedTier {
    PublishedTier {
        tier_id: Uuid::now_v7(),
        price_minor: 9_900,
        currency: "EUR".to_owned(),
        seat_ids: (0..seats).map(|_| Uuid::now_v7()).collect(),
        areas: Vec::new(),
    }
}

/// `{event_id, tier_id, quantity}`.
pub(crate) fn tier_body(event_id: Uuid, tier_id: Uuid, quantity: u32) -> Value {
    serde_json::json!({"event_id": event_id, "tier_id": tier_id, "quantity": quantity})
}

/// The purchase id of a 202.
pub(crate) fn accepted_id(answer: &Answer) -> Uuid {
    answer.body["purchase_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a purchase id")
}

/// The outcome of one purchase request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        Self {
            status,
            retry_after,
            body,
        }
    }
}

impl Pipeline {
    /// Starts one more gateway, configured like the others but for `adjust`.
    pub(crate) async fn add_gateway(&mut self, adjust: impl FnOnce(&mut Config)) {
        let mut config = self.gateway_template.clone();
        config.http = self.context.http();
        adjust(&mut config);
        self.context.track_topology(&startup::topology(&config));
        let shutdown = CancellationToken::new();
        let app = startup::build(config, shutdown.clone())
            .await
            .expect("client-service builds");
        self.gateways
            .push(TestApp::start(app, shutdown, self.context.clone()));
    }

    /// A signed access token of a buyer that need not exist anywhere else.
    pub(crate) fn buyer(&self, buyer_id: Uuid) -> String {
        self.issuer
            .access_token(buyer_id, Role::Buyer, Uuid::now_v7())
            .expect("a token")
    }

    pub(crate) fn redis(&self) -> RedisStore {
        RedisStore::open(&self.context.redis()).expect("redis")
    }

    /// Publishes `message` on the events exchange, as event-service does.
    pub(crate) async fn announce<P: Message>(&self, message: P) {
        publish_event(
            &self.context.amqp(),
            &Envelope::new(Uuid::now_v7(), message),
        )
        .await;
    }

    /// Publishes `event` on the broker, as event-service does, and waits until order-service
    /// has built its inventory and counters.
    pub(crate) async fn publish(&self, event: &EventPublishedV1) {
        self.announce(event.clone()).await;
        let redis = self.redis();
        assert!(
            eventually(Duration::from_secs(20), || async {
                common::availability::is_built(&redis, event.event_id)
                    .await
                    .unwrap_or(false)
            })
            .await,
            "order-service built the event's counters"
        );
    }

    /// Publishes an event on sale with one standing tier of `capacity`; returns it and the
    /// tier's id.
    pub(crate) async fn standing_event(
        &self,
        capacity: u32,
        per_buyer_limit: u32,
    ) -> (EventPublishedV1, Uuid) {
        let tier = standing_tier(capacity);
        let tier_id = tier.tier_id;
        let event = event_on_sale(per_buyer_limit, vec![tier]);
        self.publish(&event).await;
        (event, tier_id)
    }

    /// `POST /v1/purchases` through gateway number `gateway % gateways`.
    pub(crate) async fn purchase(
        &self,
        gateway: usize,
        token: &str,
        key: &str,
        body: &Value,
    ) -> Answer {
        let gateway = &self.gateways[gateway % self.gateways.len()];
        let response = gateway
            .client
            .post(gateway.url("/v1/purchases"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("the gateway answers");
        Answer::read(response).await
    }

    /// `GET /v1/purchases/{id}` as the buyer of `token`.
    pub(crate) async fn status(&self, token: &str, purchase_id: &str) -> Answer {
        let gateway = &self.gateways[0];
        let response = gateway
            .client
            .get(gateway.url(&format!("/v1/purchases/{purchase_id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("the gateway answers");
        Answer::read(response).await
    }

    /// Polls the buyer's view of a purchase until it is no longer queued.
    pub(crate) async fn decided(&self, token: &str, purchase_id: Uuid) -> Value {
        let mut last = Value::Null;
        for _ in 0..500 {
            let answer = self.status(token, &purchase_id.to_string()).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            if answer.body["status"] != "queued" {
                return answer.body;
            }
            last = answer.body;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("purchase {purchase_id} stayed queued: {last}");
    }

    /// Buys `quantity` places of the tier for the buyer of `token` and waits for the hold;
    /// returns the purchase and order ids.
    pub(crate) async fn reserve(
        &self,
        token: &str,
        event_id: Uuid,
        tier_id: Uuid,
        quantity: u32,
    ) -> (Uuid, Uuid) {
        let key = Uuid::now_v7().to_string();
        let accepted = self
            .purchase(0, token, &key, &tier_body(event_id, tier_id, quantity))
            .await;
        assert_eq!(accepted.status, 202, "{:?}", accepted.body);
        let purchase_id = accepted_id(&accepted);
        let status = self.decided(token, purchase_id).await;
        assert_eq!(status["status"], "reserved", "{status}");
        let order_id = status["order_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("an order id");
        (purchase_id, order_id)
    }

    /// `POST /v1/orders/{id}/payment` through the first gateway.
    pub(crate) async fn pay(&self, token: &str, order_id: Uuid, key: &str, card: &str) -> Answer {
        self.order_call(
            token,
            reqwest::Method::POST,
            &format!("/v1/orders/{order_id}/payment"),
            Some(key),
            Some(serde_json::json!({ "card_token": card })),
        )
        .await
    }

    /// Any order call through the first gateway.
    pub(crate) async fn order_call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let gateway = &self.gateways[0];
        let mut request = gateway
            .client
            .request(method, gateway.url(path))
            .bearer_auth(token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await.expect("the gateway answers")).await
    }

    /// A connection to the orders database, for checking the invariants where they live.
    pub(crate) async fn orders_db(&self) -> tokio_postgres::Client {
        connect_database(&self.orders_database).await
    }

    /// Waits until every purchase in `purchase_ids` has an order (reserved or rejected).
    pub(crate) async fn wait_until_decided(&self, purchase_ids: &[Uuid]) {
        let db = self.orders_db().await;
        let ids = purchase_ids.to_vec();
        let decided = eventually(Duration::from_secs(60), || async {
            let row = db
                .query_one(
                    "SELECT count(*) FROM orders WHERE purchase_id = ANY($1)",
                    &[&ids],
                )
                .await
                .expect("count");
            row.get::<_, i64>(0) == ids.len() as i64
        })
        .await;
        assert!(
            decided,
            "every accepted purchase reached reserved or rejected"
        );
    }

    /// The Redis counter of a tier, next to Postgres' count of its free places.
    pub(crate) async fn counter_and_truth(&self, event_id: Uuid, tier_id: Uuid) -> (i64, i64) {
        let counters = common::availability::read_remaining(&self.redis(), event_id)
            .await
            .expect("redis")
            .unwrap_or_default();
        let db = self.orders_db().await;
        let truth: i64 = db
            .query_one(
                "SELECT count(*) FROM places WHERE event_id = $1 AND tier_id = $2 AND state = 'available'",
                &[&event_id, &tier_id],
            )
            .await
            .expect("count")
            .get(0);
        (counters.get(&tier_id).copied().unwrap_or(-1), truth)
    }

    /// Asserts no place is claimed twice and returns how many places are held.
    pub(crate) async fn assert_no_double_sale(&self, event_id: Uuid) -> i64 {
        let db = self.orders_db().await;
        let row = db
            .query_one(
                "SELECT count(*), count(DISTINCT place_id) FROM order_places
                 WHERE event_id = $1 AND active",
                &[&event_id],
            )
            .await
            .expect("count");
        let (claims, places): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(claims, places, "a place is in two active orders");
        let held: i64 = db
            .query_one(
                "SELECT count(*) FROM places WHERE event_id = $1 AND state <> 'available'",
                &[&event_id],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(held, claims, "places and claims disagree");
        held
    }
}

/// A TCP link to the broker that can fall silent one way: once `silent` is set, what the
/// client sends still reaches RabbitMQ, but nothing RabbitMQ answers (confirms among it)
/// comes back, as when a network path fails in one direction. Returns the AMQP URL through
/// the link.
pub(crate) async fn one_way_broker_link(amqp_url: &str, silent: Arc<AtomicBool>) -> String {
    let authority_start = amqp_url.rfind('@').map_or("amqp://".len(), |at| at + 1);
    let authority_end = amqp_url[authority_start..]
        .find('/')
        .map_or(amqp_url.len(), |slash| authority_start + slash);
    let broker_address = amqp_url[authority_start..authority_end].to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let link_address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(broker) = TcpStream::connect(&broker_address).await else {
                continue;
            };
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_broker, mut to_broker) = broker.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut from_client, &mut to_broker).await });
            let silent = silent.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(read) = from_broker.read(&mut buffer).await {
                    if read == 0 {
                        break;
                    }
                    if !silent.load(Ordering::SeqCst)
                        && to_client.write_all(&buffer[..read]).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    format!(
        "{}{link_address}{}",
        &amqp_url[..authority_start],
        &amqp_url[authority_end..]
    )
}
