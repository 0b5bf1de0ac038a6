//! `/healthz` and `/readyz` with every dependency up, and with one pointed at a closed port.

use common::config::Secret;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_while_the_process_lives() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_is_200_and_names_each_dependency_when_all_answer() {
    let app = spawn_app().await;

    app.assert_ready(&["rabbitmq", "redis"]).await;
}

#[tokio::test]
async fn readyz_is_503_naming_redis_when_it_is_unreachable() {
    let app =
        spawn_app_with(|config| config.redis.url = Secret::new("redis://127.0.0.1:1".to_owned()))
            .await;

    app.assert_not_ready_because_of("redis").await;
}
