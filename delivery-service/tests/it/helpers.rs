//! `spawn_app`: delivery-service built by the same `startup::build` as production, on a free port,
//! with its own database, Redis prefix, broker namespace and bucket (`TestContext`).

use common::{
    config::LogFormat,
    test_support::{TestApp, TestContext},
};
use delivery_service::{config::Config, startup};
use tokio_util::sync::CancellationToken;

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let context = TestContext::new();
    let mut config = Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("delivery"),
        amqp: context.amqp(),
    };
    adjust(&mut config);
    context.track_topology(&startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = startup::build(config, shutdown.clone())
        .await
        .expect("delivery-service builds");
    TestApp::start(app, shutdown, context)
}
