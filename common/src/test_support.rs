//! Per-test isolation against the real Postgres, Redis, RabbitMQ and S3 (never mocks): each
//! `TestContext` has its own database name, Redis key prefix, broker namespace and bucket,
//! and removes all of them when dropped.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use contracts::ops::{DependencyStatus, ReadinessReport, ReadinessStatus};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    amqp::Topology,
    app::App,
    config::{AmqpConfig, HttpConfig, PostgresConfig, RedisConfig, S3Config},
};

/// The isolated names of one test.
pub struct TestContext {
    id: String,
    postgres: PostgresConfig,
    redis: RedisConfig,
    amqp: AmqpConfig,
    s3: S3Config,
    databases: Mutex<Vec<String>>,
    topologies: Mutex<Vec<Topology>>,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    /// Reads the same `TICKETING_*` variables as the services (defaults: the local stack) and
    /// gives every name a unique suffix.
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let mut postgres =
            PostgresConfig::from_env("TEST", "unused").expect("test Postgres configuration");
        postgres.max_connections = 8;
        let mut redis = RedisConfig::from_env().expect("test Redis configuration");
        redis.key_prefix = format!("test:{id}");
        let mut amqp = AmqpConfig::from_env().expect("test AMQP configuration");
        amqp.namespace = format!("test-{id}");
        let mut s3 = S3Config::from_env().expect("test S3 configuration");
        s3.bucket = format!("test-{id}");
        Self {
            id,
            postgres,
            redis,
            amqp,
            s3,
            databases: Mutex::new(Vec::new()),
            topologies: Mutex::new(Vec::new()),
        }
    }

    /// A database of this test for the service that would own `purpose` (`orders`, ...).
    pub fn postgres(&self, purpose: &str) -> PostgresConfig {
        let name = format!("test_{}_{purpose}", self.id);
        lock(&self.databases).push(name.clone());
        PostgresConfig {
            database: name,
            ..self.postgres.clone()
        }
    }

    pub fn redis(&self) -> RedisConfig {
        self.redis.clone()
    }

    pub fn amqp(&self) -> AmqpConfig {
        self.amqp.clone()
    }

    pub fn s3(&self) -> S3Config {
        self.s3.clone()
    }

    /// Loopback, port 0: the OS picks a free port.
    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            host: std::net::IpAddr::from([127, 0, 0, 1]),
            port: 0,
            request_timeout: Duration::from_secs(30),
        }
    }

    /// Exchanges and queues of `topology` are deleted when the test ends.
    pub fn track_topology(&self, topology: &Topology) {
        lock(&self.topologies).push(topology.clone());
    }

    async fn clean_up(
        postgres: PostgresConfig,
        databases: Vec<String>,
        redis: RedisConfig,
        amqp: AmqpConfig,
        topologies: Vec<Topology>,
        s3: S3Config,
    ) {
        for database in databases {
            if let Err(error) =
                crate::postgres::drop_database(postgres.server_url.expose(), &database).await
            {
                eprintln!("test clean-up: dropping {database}: {error:#}");
            }
        }
        if let Err(error) = delete_redis_keys(&redis).await {
            eprintln!("test clean-up: Redis keys {}: {error:#}", redis.key_prefix);
        }
        if let Err(error) = delete_topologies(&amqp, &topologies).await {
            eprintln!(
                "test clean-up: broker namespace {}: {error:#}",
                amqp.namespace
            );
        }
        delete_bucket(&s3).await;
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        let postgres = self.postgres.clone();
        let databases = std::mem::take(&mut *lock(&self.databases));
        let redis = self.redis.clone();
        let amqp = self.amqp.clone();
        let topologies = std::mem::take(&mut *lock(&self.topologies));
        let s3 = self.s3.clone();
        // Drop can't await, and may run inside a runtime: clean up on a thread of its own.
        let cleaner = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a clean-up runtime can always be built");
            runtime.block_on(Self::clean_up(
                postgres, databases, redis, amqp, topologies, s3,
            ));
        });
        if cleaner.join().is_err() {
            eprintln!("test clean-up panicked");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn delete_redis_keys(config: &RedisConfig) -> anyhow::Result<()> {
    let client = redis::Client::open(config.url.expose().as_str())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let pattern = format!("{}:*", config.key_prefix);
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut connection)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

async fn delete_topologies(config: &AmqpConfig, topologies: &[Topology]) -> anyhow::Result<()> {
    if topologies.is_empty() {
        return Ok(());
    }
    let connection =
        lapin::Connection::connect(config.url.expose(), lapin::ConnectionProperties::default())
            .await?;
    let channel = connection.create_channel().await?;
    for topology in topologies {
        let (exchanges, queues) = topology.all_names();
        for queue in queues {
            channel
                .queue_delete(queue.as_str().into(), Default::default())
                .await?;
        }
        for exchange in exchanges {
            channel
                .exchange_delete(exchange.as_str().into(), Default::default())
                .await?;
        }
    }
    connection.close(200, "test clean-up".into()).await?;
    Ok(())
}

async fn delete_bucket(config: &S3Config) {
    let store = crate::s3::ObjectStore::new(config);
    let client = store.client();
    let Ok(listing) = client.list_objects_v2().bucket(store.bucket()).send().await else {
        return; // The test never made its bucket.
    };
    for object in listing.contents() {
        if let Some(key) = object.key()
            && let Err(error) = store.delete(key).await
        {
            eprintln!("test clean-up: {error:#}");
        }
    }
    if let Err(error) = client.delete_bucket().bucket(store.bucket()).send().await {
        eprintln!("test clean-up: deleting bucket {}: {error}", store.bucket());
    }
}

/// Polls `condition` until it holds or `timeout` passes: tests wait for effects this way,
/// never with a fixed sleep.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service running in the test's process on a free port, stopped when dropped (before its
/// `TestContext` cleans up, as fields drop in order). Services of one test that must see each
/// other's messages and keys share one context.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    running: Option<JoinHandle<anyhow::Result<()>>>,
    pub context: Arc<TestContext>,
}

impl TestApp {
    /// Runs `app` (built with `shutdown`) in the background.
    pub fn start(
        app: App,
        shutdown: CancellationToken,
        context: impl Into<Arc<TestContext>>,
    ) -> Self {
        let address = format!("http://127.0.0.1:{}", app.port());
        Self {
            address,
            client: reqwest::Client::new(),
            shutdown,
            running: Some(tokio::spawn(app.run_until_stopped())),
            context: context.into(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the test app answers")
    }

    /// `GET /readyz`, with its status code and parsed body.
    pub async fn readiness(&self) -> (u16, ReadinessReport) {
        let response = self.get("/readyz").await;
        let status = response.status().as_u16();
        let report = response
            .json()
            .await
            .expect("/readyz answers a readiness report");
        (status, report)
    }

    /// Asserts that `/readyz` is 200 and names exactly `dependencies`, each up.
    pub async fn assert_ready(&self, dependencies: &[&str]) {
        let (status, report) = self.readiness().await;
        assert_eq!(status, 200, "{report:?}");
        assert_eq!(report.status, ReadinessStatus::Ready);
        assert_eq!(
            report.dependencies.keys().collect::<Vec<_>>(),
            dependencies,
            "{report:?}"
        );
        assert!(
            report
                .dependencies
                .values()
                .all(|check| check.status == DependencyStatus::Up),
            "{report:?}"
        );
    }

    /// Asserts that `/readyz` is 503 and names `dependency`, with its error, as the only one
    /// down.
    pub async fn assert_not_ready_because_of(&self, dependency: &str) {
        let (status, report) = self.readiness().await;
        assert_eq!(status, 503, "{report:?}");
        assert_eq!(report.status, ReadinessStatus::NotReady);
        for (name, check) in &report.dependencies {
            if name == dependency {
                assert_eq!(check.status, DependencyStatus::Down, "{report:?}");
                assert!(check.error.is_some(), "{report:?}");
            } else {
                assert_eq!(check.status, DependencyStatus::Up, "{name}: {report:?}");
            }
        }
        assert!(report.dependencies.contains_key(dependency), "{report:?}");
    }

    /// Fires the shutdown token and waits until the app has drained and stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running
                .await
                .expect("the app task does not panic")
                .expect("the app stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Publishes `envelope` on the events exchange of `config`'s namespace, as a service's relay
/// does, waiting for the broker's confirm.
pub async fn publish_event<P: contracts::Message>(
    config: &AmqpConfig,
    envelope: &contracts::Envelope<P>,
) {
    let shutdown = CancellationToken::new();
    let broker = crate::amqp::Broker::start(
        config.clone(),
        Topology::new(&config.namespace, config.delivery_limit),
        shutdown.clone(),
    )
    .await;
    broker
        .publish_envelope(crate::amqp::ExchangeRole::Events, P::TYPE, envelope)
        .await
        .expect("the test broker confirms");
    broker.close().await;
    shutdown.cancel();
}

/// A connection of its own to the test broker, and a channel on it, for a look at a queue.
async fn inspection_channel(
    config: &AmqpConfig,
) -> anyhow::Result<(lapin::Connection, lapin::Channel)> {
    let connection =
        lapin::Connection::connect(config.url.expose(), lapin::ConnectionProperties::default())
            .await?;
    let channel = connection.create_channel().await?;
    Ok((connection, channel))
}

/// Messages ready in a queue (`<ns>.<name>` is the caller's to build), read with a passive
/// declare; unacked messages are not counted.
pub async fn queue_depth(config: &AmqpConfig, queue: &str) -> anyhow::Result<u32> {
    Ok(inspect_queue(config, queue).await?.message_count())
}

/// How many consumers a queue (`<ns>.<name>`) has. A service consumes only once its whole
/// topology is declared, bindings included: a queue that merely exists may not be bound yet.
pub async fn queue_consumers(config: &AmqpConfig, queue: &str) -> anyhow::Result<u32> {
    Ok(inspect_queue(config, queue).await?.consumer_count())
}

async fn inspect_queue(config: &AmqpConfig, queue: &str) -> anyhow::Result<lapin::Queue> {
    let (connection, channel) = inspection_channel(config).await?;
    let declared = channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await?;
    connection.close(200, "queue inspected".into()).await?;
    Ok(declared)
}

/// Takes (and acks) the next ready message of a queue (`<ns>.<name>`), if there is one.
pub async fn take_message(config: &AmqpConfig, queue: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let (connection, channel) = inspection_channel(config).await?;
    let message = channel
        .basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await?;
    connection.close(200, "message taken".into()).await?;
    Ok(message.map(|message| message.delivery.data))
}

/// A connection to the database of `config`, for tests that check what a service wrote.
pub async fn connect_database(config: &PostgresConfig) -> tokio_postgres::Client {
    let mut database: tokio_postgres::Config =
        config.server_url.expose().parse().expect("a Postgres URL");
    database.dbname(&config.database);
    crate::postgres::connect(&database)
        .await
        .expect("the test database accepts connections")
}
