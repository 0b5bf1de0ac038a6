//! Running ticket-service in tests against the real Postgres, RabbitMQ and S3, in a
//! `TestContext` that other services of the same test may share.

use std::{sync::Arc, time::Duration};

use common::{
    config::{LogFormat, Secret, TokenVerificationConfig},
    signing_keys::SigningKeySource,
    test_support::{TestApp, TestContext},
};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding},
};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, TicketConfig};

/// Production settings with the test's names, `tokens`, the services it reads from, and
/// `signing_key` for ticket codes.
pub fn config(
    context: &TestContext,
    tokens: TokenVerificationConfig,
    event_url: &str,
    account_url: &str,
    signing_key: &SigningKey,
) -> Config {
    let pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("a key encodes");
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("tickets"),
        amqp: context.amqp(),
        s3: context.s3(),
        tokens,
        tickets: TicketConfig {
            signing_key: SigningKeySource::Pem(Secret::new(pem.to_string())),
            download_link_ttl: Duration::from_secs(300),
            render_concurrency: 2,
            prefetch_count: 32,
            event_url: event_url.to_owned(),
            account_url: account_url.to_owned(),
            upstream_timeout: Duration::from_secs(5),
        },
    }
}

/// Runs ticket-service with `config` in `context`.
pub async fn spawn(context: Arc<TestContext>, config: Config) -> TestApp {
    context.track_topology(&crate::startup::topology(&config));
    let shutdown = CancellationToken::new();
    let app = crate::startup::build(config, shutdown.clone())
        .await
        .expect("ticket-service builds");
    TestApp::start(app, shutdown, context)
}
