//! `spawn_app`: order-service built by the same `startup::build` as production, on a free port,
//! with its own database, Redis prefix and broker namespace (`TestContext`).

use std::sync::Arc;

use common::{
    config::TokenVerificationConfig,
    test_support::{TestApp, TestContext},
};
use order_service::{config::Config, test_support};

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let context = Arc::new(TestContext::new());
    let mut config = test_support::config(&context, no_tokens());
    adjust(&mut config);
    test_support::spawn(context, config).await
}

/// Tests of order-service alone send no tokens: nothing listens on port 1.
pub(crate) fn no_tokens() -> TokenVerificationConfig {
    TokenVerificationConfig {
        issuer: "test".to_owned(),
        audience: "test".to_owned(),
        jwks_url: "http://127.0.0.1:1/jwks".to_owned(),
        jwks_min_refresh_interval: std::time::Duration::from_secs(5),
    }
}
