//! Builds order-service from its configuration: the same `build` serves `main` and the tests.

use common::{
    amqp::{Broker, OutboxSignal, Topology, spawn_relay},
    app::App,
    auth::Authenticator,
    postgres::Database,
    readiness::Readiness,
    redis::RedisStore,
};
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    flows::{Deps, counters, holds, payments},
    http::{self, AppState},
    messaging,
    payments::sandbox::Sandbox,
    storage,
};

/// The broker topology this service declares at every connect: the shared exchanges, and the
/// queues of the messages it consumes.
pub fn topology(config: &Config) -> Topology {
    messaging::with_queues(
        Topology::new(&config.amqp.namespace, config.amqp.delivery_limit),
        config.amqp.purchase_queue_shards,
    )
}

/// Connects to the dependencies (a dependency that is down is retried in the background and
/// reported by `/readyz`), starts the consumers and background workers, assembles the routes
/// and binds the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let database = Database::open(
        &config.postgres,
        storage::migrations::runner,
        shutdown.clone(),
    )
    .await?;
    let redis = RedisStore::open(&config.redis)?;
    let broker = Broker::start(config.amqp.clone(), topology(&config), shutdown.clone()).await;
    let readiness = Readiness::new(SERVICE)
        .postgres(&database)
        .redis(&redis)
        .rabbitmq(&broker);
    let outbox = OutboxSignal::default();
    let sandbox = Sandbox::new(database.pool().clone(), &config.payments)?;
    let deps = Deps {
        database: database.clone(),
        redis,
        outbox: outbox.clone(),
        reservations: config.reservations.clone(),
        payments: config.payments.clone(),
        provider: Arc::new(sandbox.clone()),
    };
    let router = common::http::router(
        http::routes(AppState {
            deps: Arc::new(deps.clone()),
            authenticator: Authenticator::remote(&config.tokens),
        }),
        readiness,
        Registry::default(),
        config.http.request_timeout,
    );
    let mut app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    sandbox.deliver_webhooks_to(format!(
        "http://{}:{}/v1/payments/webhook",
        config.http.host,
        app.port()
    ));
    for consumer in
        messaging::spawn_consumers(&deps, &broker, config.amqp.purchase_queue_shards, &shutdown)
    {
        app = app.with_task(consumer);
    }
    let relay = spawn_relay(
        database.pool().clone(),
        broker.clone(),
        outbox,
        config.amqp.outbox_retention,
        shutdown.clone(),
    );
    Ok(app
        .with_task(holds::spawn_sweeper(deps.clone(), shutdown.clone()))
        .with_task(payments::spawn_recovery(deps.clone(), shutdown.clone()))
        .with_task(counters::spawn_keeper(deps, shutdown))
        .with_task(relay)
        .with_broker(broker))
}
