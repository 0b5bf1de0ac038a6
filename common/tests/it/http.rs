//! The HTTP shell: problem+json for bad input and unknown routes, request ids, metrics by
//! route template.

use axum::{Router, extract::Path, routing::post};
use common::{
    app::App,
    http::ApiJson,
    readiness::Readiness,
    test_support::{TestApp, TestContext},
};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

async fn greet(Path(id): Path<u32>, ApiJson(greeting): ApiJson<Greeting>) -> String {
    format!("{id}: hello {}", greeting.name)
}

async fn spawn_shell() -> TestApp {
    let context = TestContext::new();
    let api = Router::new().route("/v1/things/{id}/greetings", post(greet));
    let router = common::http::router(
        api,
        Readiness::new("shell"),
        Registry::default(),
        std::time::Duration::from_secs(5),
    );
    let shutdown = CancellationToken::new();
    let app = App::bind("shell", &context.http(), router, shutdown.clone())
        .await
        .expect("binds");
    TestApp::start(app, shutdown, context)
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_not_raw_url() {
    let app = spawn_shell().await;
    for id in [1, 2] {
        let response = app
            .client
            .post(app.url(&format!("/v1/things/{id}/greetings")))
            .json(&serde_json::json!({"name": "Ada"}))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
    }

    let metrics = app.get("/metrics").await.text().await.expect("text");

    assert!(
        metrics.contains(
            r#"http_requests_total{method="POST",route="/v1/things/{id}/greetings",status="200"} 2"#
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("/v1/things/1/"));
}

#[tokio::test]
async fn bad_bodies_and_unknown_routes_are_problem_json() {
    let app = spawn_shell().await;
    let url = app.url("/v1/things/1/greetings");

    let not_json = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .expect("answer");
    let wrong_shape = app
        .client
        .post(&url)
        .json(&serde_json::json!({"name": 5}))
        .send()
        .await
        .expect("answer");
    let unknown = app.get("/v1/nothing-here").await;

    for (response, status, code) in [
        (not_json, 400, "malformed-request"),
        (wrong_shape, 422, "validation-failed"),
        (unknown, 404, "not-found"),
    ] {
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: contracts::ProblemDetails = response.json().await.expect("a problem");
        assert_eq!(problem.status, status);
        assert_eq!(problem.code.as_str(), code);
        assert_eq!(problem.type_uri, format!("/problems/{code}"));
    }
}
