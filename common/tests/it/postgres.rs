//! Creating and migrating a service's database.

use common::{postgres::Database, test_support::TestContext};
use tokio_util::sync::CancellationToken;

use crate::migrations;

#[tokio::test]
async fn migrations_apply_twice_without_harm() {
    let context = TestContext::new();
    let config = context.postgres("platform");
    let shutdown = CancellationToken::new();

    let first = Database::open(&config, migrations::runner, shutdown.clone())
        .await
        .expect("first start");
    first.check().await.expect("migrated after the first start");
    let second = Database::open(&config, migrations::runner, shutdown.clone())
        .await
        .expect("second start");
    second.check().await.expect("still ready after the second");

    let client = second.pool().get().await.expect("connection");
    let applied: i64 = client
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .expect("history")
        .get(0);
    let embedded = migrations::runner().get_migrations().len();
    assert_eq!(applied, embedded as i64, "each migration is recorded once");
    let outbox_rows: i64 = client
        .query_one("SELECT count(*) FROM outbox", &[])
        .await
        .expect("the outbox table exists")
        .get(0);
    assert_eq!(outbox_rows, 0);
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_is_reported_not_ready() {
    let context = TestContext::new();
    let mut config = context.postgres("platform");
    config.server_url = common::config::Secret::new("postgres://postgres@127.0.0.1:1".to_owned());
    let shutdown = CancellationToken::new();

    let database = Database::open(&config, migrations::runner, shutdown.clone())
        .await
        .expect("opening never waits for the server");

    let error = database.check().await.expect_err("not ready");
    assert!(format!("{error:#}").contains("not migrated"), "{error:#}");
    shutdown.cancel();
}
