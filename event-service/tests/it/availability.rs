//! Live availability: capacity until the counters exist, then the counters; the stream
//! pushes a change.

use std::time::Duration;

use common::{
    availability::{SalesTerms, reconcile},
    redis::RedisStore,
};
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Catalog, spawn_with_accounts};

/// A published event; returns its id and its first tier's id.
async fn published_event(catalog: &Catalog) -> (String, String) {
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog
        .draft(&organiser, &venue_id, "Drop", "big one")
        .await;
    let published = catalog.publish(&organiser, &event_id).await;
    let tier_id = published["tiers"][0]["id"]
        .as_str()
        .expect("tier")
        .to_owned();
    (event_id, tier_id)
}

/// Sets a tier's counter the way order-service does.
async fn set_remaining(catalog: &Catalog, event_id: &str, tier_id: &str, remaining: i64) {
    let redis = RedisStore::open(&catalog.events.context.redis()).expect("redis");
    let terms = SalesTerms {
        open_at: time::OffsetDateTime::now_utc(),
        close_at: None,
        per_buyer_limit: 4,
    };
    let tier_id = tier_id.parse().expect("uuid");
    reconcile(
        &redis,
        event_id.parse().expect("uuid"),
        terms,
        &[(tier_id, remaining)],
        &[],
    )
    .await
    .expect("counters written");
}

#[tokio::test]
async fn availability_shows_capacity_until_counters_exist_then_follows_them() {
    let catalog = spawn_with_accounts().await;
    let (event_id, tier_id) = published_event(&catalog).await;
    let path = format!("/v1/events/{event_id}/availability");

    let before: Value = catalog
        .call(Method::GET, &path, None, None)
        .await
        .json()
        .await
        .expect("json");
    set_remaining(&catalog, &event_id, &tier_id, 37).await;
    let after: Value = catalog
        .call(Method::GET, &path, None, None)
        .await
        .json()
        .await
        .expect("json");

    assert_eq!(before["tiers"][0]["remaining"], 200);
    assert_eq!(before["tiers"][0]["capacity"], 200);
    assert_eq!(after["tiers"][0]["tier_id"], tier_id.as_str());
    assert_eq!(after["tiers"][0]["remaining"], 37);
    assert_eq!(
        after["tiers"][1]["remaining"], 110,
        "a tier without a counter shows capacity"
    );
}

#[tokio::test]
async fn a_draft_has_no_public_availability() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog.draft(&organiser, &venue_id, "Soon", "x").await;

    let response = catalog
        .call(
            Method::GET,
            &format!("/v1/events/{event_id}/availability"),
            None,
            None,
        )
        .await;

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_stream_sends_the_current_numbers_then_a_change() {
    let catalog = spawn_with_accounts().await;
    let (event_id, tier_id) = published_event(&catalog).await;
    let response = catalog
        .call(
            Method::GET,
            &format!("/v1/events/{event_id}/availability/stream"),
            None,
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut received = String::new();
    let mut next_event = async || -> Value {
        loop {
            if let Some(end) = received.find("\n\n") {
                let event: String = received.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|line| line.strip_prefix("data: ")) {
                    return serde_json::from_str(data).expect("json data");
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
                .await
                .expect("the stream speaks within 10 s")
                .expect("the stream is open")
                .expect("bytes");
            received.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    };

    let first = next_event().await;
    set_remaining(&catalog, &event_id, &tier_id, 12).await;
    let second = next_event().await;

    assert_eq!(first["tiers"][0]["remaining"], 200);
    assert_eq!(second["tiers"][0]["remaining"], 12);
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_graceful_shutdown() {
    let catalog = spawn_with_accounts().await;
    let (event_id, _) = published_event(&catalog).await;
    let stream = catalog
        .call(
            Method::GET,
            &format!("/v1/events/{event_id}/availability/stream"),
            None,
            None,
        )
        .await;
    assert_eq!(stream.status(), 200);
    let Catalog {
        events,
        accounts: _accounts,
    } = catalog;

    let stopped = tokio::time::timeout(Duration::from_secs(10), events.stop()).await;

    assert!(
        stopped.is_ok(),
        "the service stopped with a watcher connected"
    );
    drop(stream);
}
