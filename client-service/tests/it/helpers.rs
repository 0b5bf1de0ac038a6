//! `spawn_app`: client-service built by the same `startup::build` as production, on a free port,
//! with its own database, Redis prefix, broker namespace and bucket (`TestContext`).

use std::time::Duration;

use client_service::{
    config::{Config, UpstreamConfig},
    startup,
};
use common::{
    config::LogFormat,
    test_support::{TestApp, TestContext},
};
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
        redis: context.redis(),
        amqp: context.amqp(),
        upstreams: UpstreamConfig {
            // Nothing listens on port 1: tests that need account-service use
            // `spawn_gateway_with_accounts`.
            account_url: "http://127.0.0.1:1".to_owned(),
            event_url: "http://127.0.0.1:1".to_owned(),
            connect_timeout: Duration::from_millis(500),
            read_timeout: Duration::from_secs(5),
            max_idle_connections_per_upstream: 16,
        },
    };
    adjust(&mut config);
    context.track_topology(&startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = startup::build(config, shutdown.clone())
        .await
        .expect("client-service builds");
    TestApp::start(app, shutdown, context)
}

/// The gateway in front of a real account-service (each with its own isolation).
pub(crate) async fn spawn_gateway_with_accounts() -> (TestApp, TestApp) {
    let accounts = account_service::test_support::spawn().await;
    let account_url = accounts.address.clone();
    let gateway = spawn_app_with(|config| config.upstreams.account_url = account_url).await;
    (gateway, accounts)
}
