//! Builds event-service from its configuration: the same `build` serves `main` and the tests.

use std::sync::Arc;

use common::{
    amqp::{Broker, OutboxSignal, Topology, spawn_relay},
    app::App,
    auth::Authenticator,
    postgres::Database,
    readiness::Readiness,
    redis::RedisStore,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    flows::{Deps, availability::AvailabilityHub, inventory::OrderInventory},
    http::{self, AppState},
    storage,
};

/// The broker topology this service declares at every connect: the shared exchanges, and the
/// queues of the messages it consumes.
pub fn topology(config: &Config) -> Topology {
    Topology::new(&config.amqp.namespace, config.amqp.delivery_limit)
}

/// Connects to the dependencies (a dependency that is down is retried in the background and
/// reported by `/readyz`), assembles the routes and binds the listener.
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
    let orders = OrderInventory::new(&config.order_url)?;
    let state = AppState {
        deps: Arc::new(Deps {
            database: database.clone(),
            redis: redis.clone(),
            outbox: outbox.clone(),
            availability: AvailabilityHub::new(
                redis.clone(),
                orders.clone(),
                config.availability_poll_interval,
                shutdown.clone(),
            ),
            orders,
        }),
        authenticator: Authenticator::remote(&config.tokens),
    };
    let router = common::http::router(
        http::routes(state),
        readiness,
        Registry::default(),
        config.http.request_timeout,
    );
    let relay = spawn_relay(
        database.pool().clone(),
        broker.clone(),
        outbox,
        config.amqp.outbox_retention,
        shutdown.clone(),
    );
    let app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    Ok(app.with_task(relay).with_broker(broker))
}
