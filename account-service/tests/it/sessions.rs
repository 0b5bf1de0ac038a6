//! Login, refresh with rotation and reuse detection, logout, throttling.

use std::time::{Duration, Instant};

use contracts::accounts::TokenPair;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_login_me_refresh_logout() {
    let accounts = spawn_app().await;
    accounts.register("ada@example.org", "buyer").await;

    let login = accounts.login("Ada@Example.org", PASSWORD).await;
    assert_eq!(login.status(), 200);
    let first: TokenPair = login.json().await.expect("pair");
    assert_eq!(first.token_type, "Bearer");
    assert_eq!(first.expires_in, 900);

    let me = accounts.get_as("/v1/me", &first.access_token).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["email"], "ada@example.org");

    let refreshed = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let second: TokenPair = refreshed.json().await.expect("pair");
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(
        accounts
            .get_as("/v1/me", &second.access_token)
            .await
            .status(),
        200
    );

    let logout = accounts
        .app
        .client
        .delete(accounts.app.url("/v1/sessions"))
        .bearer_auth(&second.access_token)
        .send()
        .await
        .expect("answer");
    assert_eq!(logout.status(), 204);
    let after_logout = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": second.refresh_token}),
        )
        .await;
    assert_eq!(after_logout.status(), 401);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let accounts = spawn_app().await;
    accounts.register("ada@example.org", "buyer").await;

    let started = Instant::now();
    let wrong_password = accounts.login("ada@example.org", "not the password").await;
    let wrong_password_took = started.elapsed();
    let started = Instant::now();
    let unknown_email = accounts
        .login("nobody@example.org", "not the password")
        .await;
    let unknown_email_took = started.elapsed();

    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown_email.status(), 401);
    let a: Value = wrong_password.json().await.expect("problem");
    let b: Value = unknown_email.json().await.expect("problem");
    assert_eq!(a, b, "the two answers are identical");
    // Both ran one argon2 verification: neither is a fast path. (A ratio, not a timing claim.)
    let (fast, slow) = if wrong_password_took < unknown_email_took {
        (wrong_password_took, unknown_email_took)
    } else {
        (unknown_email_took, wrong_password_took)
    };
    assert!(
        fast * 4 > slow,
        "{wrong_password_took:?} vs {unknown_email_took:?}"
    );
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let accounts = spawn_app().await;
    let first = accounts.signed_in("ada@example.org", "buyer").await;
    let rotated: TokenPair = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": first.refresh_token}),
        )
        .await
        .json()
        .await
        .expect("pair");

    let replay = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": first.refresh_token}),
        )
        .await;
    let legitimate_after_replay = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": rotated.refresh_token}),
        )
        .await;

    assert_eq!(replay.status(), 401);
    assert_eq!(
        legitimate_after_replay.status(),
        401,
        "the newest token of the family is revoked too"
    );
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_yield_at_most_one_pair() {
    let accounts = spawn_app().await;
    let first = accounts.signed_in("ada@example.org", "buyer").await;
    let body = json!({"refresh_token": first.refresh_token});

    let answers =
        futures::future::join_all((0..5).map(|_| accounts.post("/v1/sessions/refresh", &body)))
            .await;

    let successes = answers.iter().filter(|a| a.status() == 200).count();
    assert!(successes <= 1, "{successes} pairs from one refresh token");
}

#[tokio::test]
async fn an_unknown_refresh_token_is_401() {
    let accounts = spawn_app().await;

    let response = accounts
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": "bm90LWEtcmVhbC10b2tlbg"}),
        )
        .await;

    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn logins_are_throttled_after_the_configured_failures_with_retry_after() {
    let accounts = spawn_app_with(|config| {
        config.login_throttle.max_failures_per_email = 3;
        config.login_throttle.window = Duration::from_secs(120);
    })
    .await;
    accounts.register("ada@example.org", "buyer").await;

    for _ in 0..3 {
        let failed = accounts.login("ada@example.org", "wrong password!").await;
        assert_eq!(failed.status(), 401);
    }
    let throttled = accounts.login("ada@example.org", PASSWORD).await;
    let other_account = accounts
        .login("someone@example.org", "wrong password!")
        .await;

    assert_eq!(throttled.status(), 429, "even the right password waits");
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=120).contains(&retry_after), "{retry_after}");
    assert_eq!(other_account.status(), 401, "the limit is per email");
}

#[tokio::test]
async fn logins_are_throttled_per_client_address_across_emails() {
    let accounts = spawn_app_with(|config| {
        config.login_throttle.max_failures_per_address = 4;
    })
    .await;

    for attempt in 0..4 {
        let failed = accounts
            .login(&format!("guess{attempt}@example.org"), "wrong password!")
            .await;
        assert_eq!(failed.status(), 401);
    }
    let throttled = accounts
        .login("guess9@example.org", "wrong password!")
        .await;

    assert_eq!(throttled.status(), 429);
}
