//! Running event-service in tests against the real Postgres, Redis and RabbitMQ, in a
//! `TestContext` that other services of the same test may share.

use std::{sync::Arc, time::Duration};

use common::{
    config::{LogFormat, TokenVerificationConfig},
    test_support::{TestApp, TestContext},
};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Production settings with the test's names, `tokens`, and order-service at `order_url`.
pub fn config(context: &TestContext, tokens: TokenVerificationConfig, order_url: &str) -> Config {
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("events"),
        redis: context.redis(),
        amqp: context.amqp(),
        tokens,
        availability_poll_interval: Duration::from_millis(50),
        order_url: order_url.to_owned(),
    }
}

/// Runs event-service with `config` in `context`.
pub async fn spawn(context: Arc<TestContext>, config: Config) -> TestApp {
    context.track_topology(&crate::startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = crate::startup::build(config, shutdown.clone())
        .await
        .expect("event-service builds");
    TestApp::start(app, shutdown, context)
}
