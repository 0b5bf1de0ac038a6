//! Builds client-service from its configuration: the same `build` serves `main` and the tests.

use common::{
    amqp::{Broker, Topology},
    app::App,
    readiness::Readiness,
    redis::RedisStore,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    http::{self, Upstreams, proxy::Upstream},
};

/// The broker topology this service declares at every connect: the shared exchanges, and the
/// queues of the messages it consumes.
pub fn topology(config: &Config) -> Topology {
    Topology::new(&config.amqp.namespace, config.amqp.delivery_limit)
}

/// Connects to the dependencies (a dependency that is down is retried in the background and
/// reported by `/readyz`), assembles the routes and binds the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let redis = RedisStore::open(&config.redis)?;
    let broker = Broker::start(config.amqp.clone(), topology(&config), shutdown.clone()).await;
    let readiness = Readiness::new(SERVICE).redis(&redis).rabbitmq(&broker);
    let router = common::http::router(
        http::routes(Upstreams {
            accounts: Upstream::new(
                "account-service",
                &config.upstreams.account_url,
                &config.upstreams,
                shutdown.clone(),
            )?,
            events: Upstream::new(
                "event-service",
                &config.upstreams.event_url,
                &config.upstreams,
                shutdown.clone(),
            )?,
        }),
        readiness,
        Registry::default(),
        config.http.request_timeout,
    );
    let app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    Ok(app.with_broker(broker))
}
