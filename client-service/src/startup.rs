//! Builds client-service from its configuration: the same `build` serves `main` and the tests.

use std::{sync::Arc, time::Duration};

use common::{
    amqp::{Broker, Topology},
    app::App,
    auth::Authenticator,
    readiness::Readiness,
    redis::RedisStore,
};
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    flows::{Catalog, Deps, queueing::PurchaseQueue, status::PurchaseUpdates},
    http::{self, AppState, Upstreams, proxy::Upstream},
    messaging,
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
/// reported by `/readyz`), assembles the routes and binds the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let redis = RedisStore::open(&config.redis)?;
    let broker = Broker::start(config.amqp.clone(), topology(&config), shutdown.clone()).await;
    let readiness = Readiness::new(SERVICE).redis(&redis).rabbitmq(&broker);
    let upstream =
        |name, url: &String| Upstream::new(name, url, &config.upstreams, shutdown.clone());
    let upstreams = Upstreams {
        accounts: upstream("account-service", &config.upstreams.account_url)?,
        events: upstream("event-service", &config.upstreams.event_url)?,
        orders: upstream("order-service", &config.upstreams.order_url)?,
        tickets: upstream("ticket-service", &config.upstreams.ticket_url)?,
        deliveries: upstream("delivery-service", &config.upstreams.delivery_url)?,
    };
    let mut registry = Registry::default();
    let deps = Deps {
        redis: redis.clone(),
        purchase_queue: PurchaseQueue::start(
            broker.clone(),
            redis.clone(),
            config.amqp.purchase_queue_shards,
            &mut registry,
        ),
        updates: PurchaseUpdates::start(redis, shutdown.clone()),
        catalog: Catalog {
            http: reqwest::Client::builder()
                .connect_timeout(config.upstreams.connect_timeout)
                .timeout(config.upstreams.read_timeout)
                .build()?,
            event_url: config.upstreams.event_url.clone(),
        },
        intake_permits: Arc::new(Semaphore::new(config.purchase_max_in_flight)),
        republish_after: 2 * config.amqp.publish_confirm_timeout + Duration::from_secs(1),
    };
    let state = AppState {
        deps: Arc::new(deps.clone()),
        authenticator: Authenticator::remote(&config.tokens),
    };
    let router = common::http::router(
        http::routes(state, upstreams),
        readiness,
        registry,
        config.http.request_timeout,
    );
    let status_consumer = messaging::spawn_consumers(&deps, &broker, &shutdown);
    let app = App::bind(SERVICE, &config.http, router, shutdown.clone()).await?;
    Ok(app.with_task(status_consumer).with_broker(broker))
}
