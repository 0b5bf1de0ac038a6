//! Access tokens are refused unless genuine, current, and meant for us; roles are enforced.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use contracts::accounts::{Jwks, Role};
use serde_json::Value;

use crate::helpers::{AUDIENCE, spawn_app, valid_claims};

async fn kid_of(accounts: &crate::helpers::AccountsApp) -> String {
    let jwks: Jwks = accounts
        .app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    jwks.keys[0].kid.clone()
}

#[tokio::test]
async fn the_jwks_publishes_the_ed25519_key_with_its_kid() {
    let accounts = spawn_app().await;

    let jwks: Value = accounts
        .app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");

    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(
        key["x"],
        URL_SAFE_NO_PAD.encode(accounts.signing_key.verifying_key().as_bytes())
    );
    assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
}

#[tokio::test]
async fn a_token_signed_with_our_key_and_valid_claims_is_accepted() {
    let accounts = spawn_app().await;
    let account = accounts.register("ada@example.org", "buyer").await;
    let mut claims = valid_claims(Role::Buyer);
    claims.sub = account["id"].as_str().expect("id").parse().expect("uuid");
    let token = accounts.forge(&accounts.signing_key, &kid_of(&accounts).await, &claims);

    let response = accounts.get_as("/v1/me", &token).await;

    assert_eq!(response.status(), 200, "the forge helper itself is sound");
}

#[tokio::test]
async fn bad_tokens_are_401_with_problem_json() {
    let accounts = spawn_app().await;
    let kid = kid_of(&accounts).await;
    let genuine = accounts.signed_in("ada@example.org", "buyer").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let expired = {
        let mut claims = valid_claims(Role::Buyer);
        claims.exp = now - 3600;
        claims.nbf = now - 7200;
        accounts.forge(&accounts.signing_key, &kid, &claims)
    };
    let not_yet_valid = {
        let mut claims = valid_claims(Role::Buyer);
        claims.nbf = now + 3600;
        accounts.forge(&accounts.signing_key, &kid, &claims)
    };
    let wrong_audience = {
        let mut claims = valid_claims(Role::Buyer);
        claims.aud = format!("{AUDIENCE}-elsewhere");
        accounts.forge(&accounts.signing_key, &kid, &claims)
    };
    let foreign_key = {
        let stranger = common::signing_keys::generate_signing_key().expect("key");
        accounts.forge(&stranger, &kid, &valid_claims(Role::Admin))
    };
    let tampered = {
        // Same signature, payload changed to claim the admin role.
        let parts: Vec<&str> = genuine.access_token.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        payload["role"] = "admin".into();
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let alg_none = {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_string(&valid_claims(Role::Admin)).expect("json"));
        format!("{header}.{payload}.")
    };
    let hs256_with_public_key = {
        // The classic confusion attack: HMAC "signed" with the published public key.
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#));
        let payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_string(&valid_claims(Role::Admin)).expect("json"));
        format!("{header}.{payload}.c2lnbmF0dXJl")
    };

    for (name, token) in [
        ("expired", expired.as_str()),
        ("not yet valid", &not_yet_valid),
        ("wrong audience", &wrong_audience),
        ("foreign key", &foreign_key),
        ("tampered", &tampered),
        ("alg none", &alg_none),
        ("alg confusion", &hs256_with_public_key),
        ("garbage", "not.a.jwt"),
    ] {
        let response = accounts.get_as("/v1/me", token).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{name}");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "unauthorized", "{name}");
    }
    let missing = accounts.app.get("/v1/me").await;
    assert_eq!(missing.status(), 401);
}
