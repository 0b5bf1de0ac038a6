//! Running delivery-service in tests against the real Postgres and RabbitMQ, in a
//! `TestContext` that other services of the same test may share.

use std::{path::Path, sync::Arc, time::Duration};

use common::{
    config::{LogFormat, TokenVerificationConfig},
    test_support::{TestApp, TestContext},
};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DeliveryConfig, EmailTransport, SmsTransport};

/// The test's names, `tokens`, account-service at `account_url`, email and SMS to files
/// under `folder` (tests that need SMTP or an SMS endpoint change `delivery`), and quick
/// retries.
pub fn config(
    context: &TestContext,
    tokens: TokenVerificationConfig,
    account_url: &str,
    folder: &Path,
) -> Config {
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("delivery"),
        amqp: context.amqp(),
        tokens,
        delivery: DeliveryConfig {
            email: EmailTransport::Folder(folder.join("mail")),
            email_from: "Ticketing <tickets@localhost>".to_owned(),
            sms: SmsTransport::Log(folder.join("sms.log")),
            sms_from: "Ticketing".to_owned(),
            account_url: account_url.to_owned(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            max_attempts: 5,
            retry_base_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(2),
            send_interval: Duration::from_millis(100),
            send_timeout: Duration::from_secs(5),
            prefetch_count: 8,
            max_notices_per_second: 500,
        },
    }
}

/// Runs delivery-service with `config` in `context`.
pub async fn spawn(context: Arc<TestContext>, config: Config) -> TestApp {
    context.track_topology(&crate::startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = crate::startup::build(config, shutdown.clone())
        .await
        .expect("delivery-service builds");
    TestApp::start(app, shutdown, context)
}
