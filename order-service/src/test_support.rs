//! Running order-service in tests against the real Postgres, Redis and RabbitMQ, in a
//! `TestContext` that other services of the same test may share.

use std::{sync::Arc, time::Duration};

use common::{
    config::{LogFormat, TokenVerificationConfig},
    test_support::{TestApp, TestContext},
};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, PaymentConfig, ReservationConfig};

/// Production settings with the test's names, short background intervals, and `tokens`.
pub fn config(context: &TestContext, tokens: TokenVerificationConfig) -> Config {
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("orders"),
        redis: context.redis(),
        amqp: context.amqp(),
        tokens,
        reservations: ReservationConfig {
            sweep_interval: Duration::from_millis(100),
            counter_check_interval: Duration::from_millis(100),
            reconcile_interval: Duration::from_secs(2),
            ..ReservationConfig::default()
        },
        payments: PaymentConfig::default(),
    }
}

/// Runs order-service with `config` in `context`.
pub async fn spawn(context: Arc<TestContext>, config: Config) -> TestApp {
    context.track_topology(&crate::startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = crate::startup::build(config, shutdown.clone())
        .await
        .expect("order-service builds");
    TestApp::start(app, shutdown, context)
}
