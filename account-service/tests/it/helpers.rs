//! `spawn_app`: account-service built by the same `startup::build` as production, on a free
//! port, with its own database and Redis prefix (`TestContext`) and a signing key made for the
//! test, so that tests can also forge tokens with it.

use account_service::{
    config::Config,
    startup,
    test_support::{TEST_AUDIENCE, TEST_ISSUER, config},
};
use common::{
    signing_keys::generate_signing_key,
    test_support::{TestApp, TestContext},
};
use contracts::accounts::{AccessClaims, Role, TokenPair};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub(crate) const ISSUER: &str = TEST_ISSUER;
pub(crate) const AUDIENCE: &str = TEST_AUDIENCE;
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct AccountsApp {
    pub(crate) app: TestApp,
    pub(crate) signing_key: SigningKey,
    config: Config,
}

pub(crate) async fn spawn_app() -> AccountsApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> AccountsApp {
    let context = TestContext::new();
    let signing_key = generate_signing_key().expect("a key");
    let mut config = config(&context, &signing_key);
    adjust(&mut config);
    let shutdown = CancellationToken::new();
    let app = startup::build(config.clone(), shutdown.clone())
        .await
        .expect("account-service builds");
    AccountsApp {
        app: TestApp::start(app, shutdown, context),
        signing_key,
        config,
    }
}

impl AccountsApp {
    pub(crate) async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .json(body)
            .send()
            .await
            .expect("answer")
    }

    pub(crate) async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("answer")
    }

    /// Registers `email` with the standard password; panics unless 201.
    pub(crate) async fn register(&self, email: &str, account_type: &str) -> Value {
        let response = self
            .post(
                "/v1/accounts",
                &json!({"email": email, "password": PASSWORD, "name": "Test Person",
                        "account_type": account_type}),
            )
            .await;
        assert_eq!(response.status(), 201, "registering {email}");
        response.json().await.expect("an account")
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/v1/sessions",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers and signs in; returns the token pair.
    pub(crate) async fn signed_in(&self, email: &str, account_type: &str) -> TokenPair {
        self.register(email, account_type).await;
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("a token pair")
    }

    /// Appoints an admin the way an operator does (`account-service grant-admin EMAIL`): the
    /// same flow, against this test's database.
    pub(crate) async fn grant_admin(&self, email: &str) {
        let deps = startup::deps(&self.config, CancellationToken::new())
            .await
            .expect("deps");
        account_service::flows::admin::grant_admin(&deps, email)
            .await
            .expect("granted");
    }

    /// A token signed with `key` (the service's own unless the test says otherwise).
    pub(crate) fn forge(&self, key: &SigningKey, kid: &str, claims: &AccessClaims) -> String {
        let pem = key.to_pkcs8_pem(LineEnding::LF).expect("encodes");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_pem(pem.as_bytes()).expect("key"),
        )
        .expect("signs")
    }
}

/// Claims that would be valid for this app right now.
pub(crate) fn valid_claims(role: Role) -> AccessClaims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    AccessClaims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: uuid::Uuid::now_v7(),
        role,
        sid: uuid::Uuid::now_v7(),
        iat: now,
        nbf: now,
        exp: now + 600,
    }
}
