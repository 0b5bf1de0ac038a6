//! A configuration for running account-service in tests against the real Postgres and Redis,
//! isolated by a `TestContext`, with a signing key the test holds (so it can forge tokens).

use std::time::Duration;

use common::{
    config::{LogFormat, Secret, TokenVerificationConfig},
    test_support::{TestApp, TestContext},
};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding},
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{Config, LoginThrottleConfig, PasswordConfig, TokenConfig},
    keys::SigningKeys,
    tokens::TokenIssuer,
};
use common::signing_keys::SigningKeySource;

pub const TEST_ISSUER: &str = "ticketing-test-issuer";
pub const TEST_AUDIENCE: &str = "ticketing-test";

/// How services under test verify tokens issued by a test account-service whose JWKS is at
/// `jwks_url` (a closed port when the test sends no tokens).
pub fn token_verification(jwks_url: &str) -> TokenVerificationConfig {
    TokenVerificationConfig {
        issuer: TEST_ISSUER.to_owned(),
        audience: TEST_AUDIENCE.to_owned(),
        jwks_url: jwks_url.to_owned(),
        jwks_min_refresh_interval: Duration::from_secs(5),
    }
}

/// Production defaults (OWASP argon2 cost included), with the test's names and `signing_key`.
pub fn config(context: &TestContext, signing_key: &SigningKey) -> Config {
    let pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an Ed25519 key always encodes")
        .to_string();
    Config {
        http: context.http(),
        log_format: LogFormat::Text,
        postgres: context.postgres("accounts"),
        redis: context.redis(),
        tokens: TokenConfig {
            verification: TokenVerificationConfig {
                issuer: TEST_ISSUER.to_owned(),
                audience: TEST_AUDIENCE.to_owned(),
                jwks_url: String::new(),
                jwks_min_refresh_interval: Duration::from_secs(5),
            },
            signing_key: SigningKeySource::Pem(Secret::new(pem)),
            extra_public_key_files: Vec::new(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(3600),
        },
        passwords: PasswordConfig {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent_hashes: 2,
        },
        login_throttle: LoginThrottleConfig {
            max_failures_per_email: 5,
            max_failures_per_address: 50,
            window: Duration::from_secs(900),
        },
    }
}

/// A running account-service of its own (own database and Redis prefix), for the tests of
/// services that need real signed-in users.
pub async fn spawn() -> TestApp {
    spawn_with_issuer().await.0
}

/// Like `spawn`, with an issuer of tokens its JWKS verifies, for tests that need many buyers
/// without registering (and hashing the password of) each one.
pub async fn spawn_with_issuer() -> (TestApp, TokenIssuer) {
    let context = TestContext::new();
    let signing_key = common::signing_keys::generate_signing_key().expect("a key");
    let config = config(&context, &signing_key);
    let issuer = TokenIssuer::new(
        SigningKeys::new(&signing_key, &[]).expect("signing keys"),
        &config.tokens,
    );
    let shutdown = CancellationToken::new();
    let app = crate::startup::build(config, shutdown.clone())
        .await
        .expect("account-service builds");
    (TestApp::start(app, shutdown, context), issuer)
}

/// Someone registered through account-service's public API and signed in.
pub struct SignedUp {
    pub id: uuid::Uuid,
    pub access_token: String,
}

/// Registers an account of `account_type` (with `phone` if given) on `accounts` and signs it
/// in, as a person would.
pub async fn sign_up(
    accounts: &TestApp,
    email: &str,
    name: &str,
    account_type: &str,
    phone: Option<&str>,
) -> SignedUp {
    let password = "correct horse battery staple";
    let mut body = serde_json::json!({
        "email": email, "password": password, "name": name, "account_type": account_type
    });
    if let Some(phone) = phone {
        body["phone"] = serde_json::json!(phone);
    }
    let created = accounts
        .client
        .post(accounts.url("/v1/accounts"))
        .json(&body)
        .send()
        .await
        .expect("account-service answers");
    assert_eq!(created.status(), 201, "registering {email}");
    let account: serde_json::Value = created.json().await.expect("an account");
    let session: serde_json::Value = accounts
        .client
        .post(accounts.url("/v1/sessions"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("account-service answers")
        .json()
        .await
        .expect("a token pair");
    SignedUp {
        id: account["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("an account id"),
        access_token: session["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned(),
    }
}
