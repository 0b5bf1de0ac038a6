//! Builds ticket-service from its configuration: the same `build` serves `main` and the tests.

use std::sync::Arc;

use common::{
    amqp::{Broker, OutboxSignal, Topology, spawn_relay},
    app::App,
    auth::Authenticator,
    postgres::Database,
    readiness::Readiness,
    s3::ObjectStore,
};
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    directory::Directory,
    flows::Deps,
    http::{self, AppState},
    messaging, storage,
};

/// The broker topology this service declares at every connect: the shared exchanges, and the
/// queues of the messages it consumes.
pub fn topology(config: &Config) -> Topology {
    messaging::with_queues(Topology::new(
        &config.amqp.namespace,
        config.amqp.delivery_limit,
    ))
}

/// Connects to the dependencies (a dependency that is down is retried in the background and
/// reported by `/readyz`), starts the consumer, assembles the routes and binds the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let signing_key = config.tickets.signing_key.load()?;
    let database = Database::open(
        &config.postgres,
        storage::migrations::runner,
        shutdown.clone(),
    )
    .await?;
    let broker = Broker::start(config.amqp.clone(), topology(&config), shutdown.clone()).await;
    let store = ObjectStore::new(&config.s3);
    if let Err(error) = store.ensure_bucket().await {
        // Readiness reports it; documents are stored once the store answers.
        tracing::warn!(
            error = format!("{error:#}"),
            "the ticket bucket is not there yet"
        );
    }
    let readiness = Readiness::new(SERVICE)
        .postgres(&database)
        .rabbitmq(&broker)
        .s3(&store);
    let outbox = OutboxSignal::default();
    let deps = Deps {
        database: database.clone(),
        store,
        directory: Arc::new(Directory::new(&config.tickets)?),
        outbox: outbox.clone(),
        signing_key: Arc::new(signing_key),
        render_permits: Arc::new(Semaphore::new(config.tickets.render_concurrency.max(1))),
        tickets: config.tickets.clone(),
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
    let consumer = messaging::spawn_consumers(&deps, &broker, &shutdown);
    let relay = spawn_relay(
        database.pool().clone(),
        broker.clone(),
        outbox,
        config.amqp.outbox_retention,
        shutdown.clone(),
    );
    let app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    Ok(app.with_task(consumer).with_task(relay).with_broker(broker))
}
