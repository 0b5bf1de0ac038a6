//! Builds delivery-service from its configuration: the same `build` serves `main` and the tests.

use std::sync::Arc;

use common::{
    amqp::{Broker, Topology},
    app::App,
    auth::Authenticator,
    postgres::Database,
    readiness::Readiness,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    channels::{email::EmailSender, sms::SmsSender},
    config::Config,
    contacts::Contacts,
    flows::{Deps, pacing::Pace, sending},
    http::{self, AppState},
    messaging, storage,
    templates::Templates,
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
/// reported by `/readyz`), starts the consumer and the sender, assembles the routes and binds
/// the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let delivery = &config.delivery;
    let templates = Arc::new(Templates::load()?);
    let email = EmailSender::new(&delivery.email)?;
    let sms = SmsSender::new(&delivery.sms, delivery.send_timeout)?;
    let contacts = Contacts::new(&delivery.account_url, delivery.send_timeout)?;
    let database = Database::open(
        &config.postgres,
        storage::migrations::runner,
        shutdown.clone(),
    )
    .await?;
    let broker = Broker::start(config.amqp.clone(), topology(&config), shutdown.clone()).await;
    let readiness = Readiness::new(SERVICE)
        .postgres(&database)
        .rabbitmq(&broker);
    let deps = Deps {
        database,
        broker: broker.clone(),
        templates,
        contacts,
        email,
        sms,
        wake_sender: Arc::default(),
        pace: Arc::new(Pace::new(delivery.max_notices_per_second)),
        delivery: delivery.clone(),
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
    let sender = sending::spawn_sender(deps, shutdown.clone());
    let app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    Ok(app
        .with_task(consumer)
        .with_task(sender)
        .with_broker(broker))
}
