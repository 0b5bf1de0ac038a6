//! The gateway forwards account and session calls to account-service unchanged.

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_gateway_with_accounts};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn register_login_and_me_work_through_the_gateway() {
    let (gateway, _accounts) = spawn_gateway_with_accounts().await;

    let registered = gateway
        .client
        .post(gateway.url("/v1/accounts"))
        .json(&json!({"email": "ada@example.org", "password": PASSWORD, "name": "Ada"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(registered.status(), 201);
    let tokens: Value = gateway
        .client
        .post(gateway.url("/v1/sessions"))
        .json(&json!({"email": "ada@example.org", "password": PASSWORD}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("pair");
    let me = gateway
        .client
        .get(gateway.url("/v1/me"))
        .bearer_auth(tokens["access_token"].as_str().expect("token"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("answer");

    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["x-request-id"], "trace-me-123");
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["email"], "ada@example.org");
    let jwks: Value = gateway
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
}

#[tokio::test]
async fn upstream_problems_pass_through_unchanged() {
    let (gateway, _accounts) = spawn_gateway_with_accounts().await;

    let invalid = gateway
        .client
        .post(gateway.url("/v1/accounts"))
        .json(&json!({"email": "nope", "password": "x", "name": "A"}))
        .send()
        .await
        .expect("answer");

    assert_eq!(invalid.status(), 422);
    assert_eq!(
        invalid.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = invalid.json().await.expect("problem");
    assert!(problem["errors"]["email"].is_string());
}

#[tokio::test]
async fn a_forged_forwarded_for_header_cannot_dodge_login_throttling() {
    let (gateway, _accounts) = spawn_gateway_with_accounts().await;

    // The account-service test config allows 50 failures per address; each attempt claims
    // another address, which the gateway must ignore.
    let mut statuses = Vec::new();
    for attempt in 0..51 {
        let response = gateway
            .client
            .post(gateway.url("/v1/sessions"))
            .header("x-forwarded-for", format!("10.0.0.{attempt}"))
            .json(&json!({"email": format!("guess{attempt}@example.org"), "password": "wrong password!"}))
            .send()
            .await
            .expect("answer");
        statuses.push(response.status().as_u16());
    }

    assert!(statuses[..50].iter().all(|status| *status == 401));
    assert_eq!(statuses[50], 429);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_503_problem_with_retry_after() {
    let gateway = spawn_app().await;

    let response = gateway
        .client
        .post(gateway.url("/v1/sessions"))
        .json(&json!({"email": "ada@example.org", "password": PASSWORD}))
        .send()
        .await
        .expect("answer");

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["code"], "unavailable");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("account-service"))
    );
}

/// An upstream that answers every event path with a server-sent-events stream that never ends.
async fn spawn_endless_stream() -> common::test_support::TestApp {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let context = common::test_support::TestContext::new();
    let api = axum::Router::new().route(
        "/v1/events/{*rest}",
        axum::routing::get(|| async {
            let first = futures::stream::once(async {
                Ok::<_, std::convert::Infallible>(Event::default().data("hello"))
            });
            Sse::new(futures::StreamExt::chain(first, futures::stream::pending()))
                .keep_alive(KeepAlive::default())
        }),
    );
    let router = common::http::router(
        api,
        common::readiness::Readiness::new("endless"),
        prometheus_client::registry::Registry::default(),
        std::time::Duration::from_secs(30),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let app = common::app::App::bind("endless", &context.http(), router, shutdown.clone())
        .await
        .expect("binds");
    common::test_support::TestApp::start(app, shutdown, context)
}

#[tokio::test]
async fn a_proxied_stream_does_not_hold_up_the_gateway_shutdown() {
    let upstream = spawn_endless_stream().await;
    let upstream_url = upstream.address.clone();
    let gateway =
        crate::helpers::spawn_app_with(|config| config.upstreams.event_url = upstream_url).await;
    let stream = gateway.get("/v1/events/e1/availability/stream").await;
    assert_eq!(stream.status(), 200);

    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), gateway.stop()).await;

    assert!(stopped.is_ok(), "the gateway stopped with a stream open");
    drop(stream);
}
