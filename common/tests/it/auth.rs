//! Remote token verification: the JWKS is fetched once and cached, fetched again when a token
//! names a key it has not seen (rotation), and a flood of unknown key ids cannot turn into a
//! flood of fetches.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, routing::get};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{
    app::App,
    auth::{AuthError, Authenticator},
    config::TokenVerificationConfig,
    http::ApiJson,
    readiness::Readiness,
    test_support::{TestApp, TestContext, eventually},
};
use contracts::accounts::{AccessClaims, Jwks, PublicJwk, Role};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Clone, Default)]
struct KeyServer {
    jwks: Arc<RwLock<Vec<PublicJwk>>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_jwks(State(server): State<KeyServer>) -> ApiJson<Jwks> {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    ApiJson(Jwks {
        keys: server.jwks.read().expect("not poisoned").clone(),
    })
}

fn new_key(kid: &str) -> (SigningKey, PublicJwk) {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).expect("randomness");
    let key = SigningKey::from_bytes(&seed);
    let jwk = PublicJwk {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        kid: kid.to_owned(),
        alg: "EdDSA".to_owned(),
        key_use: "sig".to_owned(),
    };
    (key, jwk)
}

fn sign(key: &SigningKey, kid: &str, role: Role) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = AccessClaims {
        iss: "issuer".to_owned(),
        aud: "audience".to_owned(),
        sub: Uuid::now_v7(),
        role,
        sid: Uuid::now_v7(),
        iat: now,
        nbf: now,
        exp: now + 60,
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("encodes");
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).expect("key"),
    )
    .expect("signs")
}

async fn spawn_key_server(server: KeyServer) -> TestApp {
    let context = TestContext::new();
    let api = Router::new()
        .route("/.well-known/jwks.json", get(serve_jwks))
        .with_state(server);
    let router = common::http::router(
        api,
        Readiness::new("keys"),
        Registry::default(),
        Duration::from_secs(5),
    );
    let shutdown = CancellationToken::new();
    let app = App::bind("keys", &context.http(), router, shutdown.clone())
        .await
        .expect("binds");
    TestApp::start(app, shutdown, context)
}

fn verification(keys: &TestApp, min_refresh_interval: Duration) -> TokenVerificationConfig {
    TokenVerificationConfig {
        issuer: "issuer".to_owned(),
        audience: "audience".to_owned(),
        jwks_url: keys.url("/.well-known/jwks.json"),
        jwks_min_refresh_interval: min_refresh_interval,
    }
}

#[tokio::test]
async fn keys_are_fetched_once_and_cached() {
    let server = KeyServer::default();
    let (key, jwk) = new_key("current");
    server.jwks.write().expect("not poisoned").push(jwk);
    let keys = spawn_key_server(server.clone()).await;
    let authenticator = Authenticator::remote(&verification(&keys, Duration::from_secs(60)));

    let first = authenticator
        .verify(&sign(&key, "current", Role::Buyer))
        .await
        .expect("valid");
    for _ in 0..10 {
        authenticator
            .verify(&sign(&key, "current", Role::Organiser))
            .await
            .expect("valid");
    }

    assert_eq!(first.role, Role::Buyer);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_key_rotated_in_is_fetched_when_a_token_names_it() {
    let server = KeyServer::default();
    let (old_key, old_jwk) = new_key("old");
    let (new_key, new_jwk) = new_key("new");
    server.jwks.write().expect("not poisoned").push(old_jwk);
    let keys = spawn_key_server(server.clone()).await;
    let authenticator = Authenticator::remote(&verification(&keys, Duration::from_millis(100)));
    authenticator
        .verify(&sign(&old_key, "old", Role::Buyer))
        .await
        .expect("valid");

    server.jwks.write().expect("not poisoned").push(new_jwk);
    let token = sign(&new_key, "new", Role::Admin);
    let accepted = eventually(Duration::from_secs(5), || async {
        authenticator.verify(&token).await.is_ok()
    })
    .await;

    assert!(
        accepted,
        "the new key is fetched once the refresh interval allows"
    );
    assert!(server.fetches.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn forged_key_ids_cannot_flood_the_key_server() {
    let server = KeyServer::default();
    let (key, jwk) = new_key("real");
    server.jwks.write().expect("not poisoned").push(jwk);
    let keys = spawn_key_server(server.clone()).await;
    let authenticator = Authenticator::remote(&verification(&keys, Duration::from_secs(60)));
    authenticator
        .verify(&sign(&key, "real", Role::Buyer))
        .await
        .expect("valid");

    for attempt in 0..50 {
        let forged = sign(&key, &format!("forged-{attempt}"), Role::Admin);
        let outcome = authenticator.verify(&forged).await;
        assert!(matches!(outcome, Err(AuthError::Invalid(_))), "{outcome:?}");
    }

    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_key_server_that_is_down_makes_verification_unavailable_not_valid() {
    let (key, _) = new_key("k");
    let authenticator = Authenticator::remote(&TokenVerificationConfig {
        issuer: "issuer".to_owned(),
        audience: "audience".to_owned(),
        jwks_url: "http://127.0.0.1:1/jwks".to_owned(),
        jwks_min_refresh_interval: Duration::from_secs(5),
    });

    let outcome = authenticator.verify(&sign(&key, "k", Role::Buyer)).await;

    assert!(
        matches!(outcome, Err(AuthError::KeysUnavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_token_verified_before_does_not_vouch_for_a_tampered_copy() {
    let server = KeyServer::default();
    let (key, jwk) = new_key("k1");
    server.jwks.write().expect("not poisoned").push(jwk);
    let keys = spawn_key_server(server).await;
    let authenticator = Authenticator::remote(&verification(&keys, Duration::from_secs(5)));
    let token = sign(&key, "k1", Role::Buyer);

    let first = authenticator.verify(&token).await.expect("valid");
    let again = authenticator.verify(&token).await.expect("still valid");
    // Same signature, another payload: an admin claim grafted onto the buyer's signature.
    let admin = sign(&key, "k1", Role::Admin);
    let mut parts: Vec<&str> = admin.split('.').collect();
    let signature = token.rsplit('.').next().expect("a signature");
    parts[2] = signature;
    let grafted = parts.join(".");

    assert_eq!(first, again);
    assert!(matches!(
        authenticator.verify(&grafted).await,
        Err(AuthError::Invalid(_))
    ));
}
