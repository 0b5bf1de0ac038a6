//! Live availability: capacity until the counters exist, then the counters; the stream
//! pushes a change.

use std::time::Duration;

use common::{
    availability::{SalesTerms, TakenSeats, Truth, reconcile},
    redis::RedisStore,
};
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

use common::{
    amqp::{Broker, ExchangeRole, Topology},
    test_support::eventually,
};
use contracts::{
    Envelope,
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, Selection, purchase_routing_key},
};
use uuid::Uuid;

use crate::helpers::{Catalog, spawn_with_accounts, spawn_with_orders};

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
    let truth = Truth {
        terms,
        available: &[(tier_id, remaining)],
        held: &[],
        taken_seats: TakenSeats::Rewritten(&[]),
    };
    reconcile(&redis, event_id.parse().expect("uuid"), &truth)
        .await
        .expect("counters written");
}

#[tokio::test]
async fn availability_shows_capacity_until_counters_exist_then_follows_them() {
    let catalog = spawn_with_accounts().await;
    let (event_id, tier_id) = published_event(&catalog).await;
    let path = format!("/v1/events/{event_id}/availability");

    let before = catalog.get_json(&path).await;
    set_remaining(&catalog, &event_id, &tier_id, 37).await;
    let after = catalog.get_json(&path).await;

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
        orders: _orders,
    } = catalog;

    let stopped = tokio::time::timeout(Duration::from_secs(10), events.stop()).await;

    assert!(
        stopped.is_ok(),
        "the service stopped with a watcher connected"
    );
    drop(stream);
}

#[tokio::test]
async fn the_seat_map_and_missing_counters_come_from_order_service() {
    let catalog = spawn_with_orders().await;
    let (event_id, tier_id) = published_event(&catalog).await;
    let seats_path = format!("/v1/events/{event_id}/seats");
    let orders = catalog.orders.as_ref().expect("order-service");
    let built = eventually(Duration::from_secs(20), || async {
        orders
            .get(&format!("/internal/v1/events/{event_id}/inventory"))
            .await
            .status()
            == 200
    })
    .await;
    assert!(
        built,
        "order-service built the inventory from event.published"
    );

    let map = catalog.get_json(&seats_path).await;
    let seats = map["seats"].as_array().expect("seats");
    assert_eq!(
        seats.len(),
        210,
        "every numbered seat, none of the standing places"
    );
    assert!(seats.iter().all(|seat| seat["state"] == "available"));
    let seat = &seats[0];
    assert_eq!(seat["tier_id"], tier_id.as_str());
    assert_eq!(seat["row"], "R0");
    assert_eq!(seat["number"], 1);

    hold_seat(&catalog, &event_id, seat["seat_id"].as_str().expect("id")).await;
    let held = eventually(Duration::from_secs(20), || async {
        let map = catalog.get_json(&seats_path).await;
        map["seats"][0]["state"] == "held"
    })
    .await;
    assert!(held, "the seat map shows the hold");

    let redis = RedisStore::open(&catalog.events.context.redis()).expect("redis");
    let keys = common::availability::EventKeys::new(&redis, event_id.parse().expect("uuid"));
    let () = redis::cmd("DEL")
        .arg(&[&keys.meta, &keys.remaining])
        .query_async(&mut redis.connection())
        .await
        .expect("counters deleted");
    let availability: Value = catalog
        .call(
            Method::GET,
            &format!("/v1/events/{event_id}/availability"),
            None,
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    // The counters are gone until order-service rebuilds them; the numbers are Postgres'.
    let tier = availability["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .find(|tier| tier["tier_id"] == tier_id.as_str())
        .expect("the tier")
        .clone();
    assert_eq!(tier["remaining"], tier["capacity"].as_u64().expect("n") - 1);
    assert_eq!(
        common::availability::read_remaining(&redis, event_id.parse().expect("uuid"))
            .await
            .expect("redis"),
        None,
        "the counters were still missing"
    );
}

/// Sends order-service a purchase of one chosen seat, as client-service would.
async fn hold_seat(catalog: &Catalog, event_id: &str, seat_id: &str) {
    let amqp = catalog.events.context.amqp();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let broker = Broker::start(
        amqp.clone(),
        Topology::new(&amqp.namespace, amqp.delivery_limit),
        shutdown.clone(),
    )
    .await;
    let event_id: Uuid = event_id.parse().expect("uuid");
    let purchase_id = Uuid::now_v7();
    let request = PurchaseRequestedV1 {
        purchase_id,
        buyer_id: Uuid::now_v7(),
        event_id,
        selection: Selection::Seats {
            seat_ids: vec![seat_id.parse().expect("uuid")],
        },
        // After the event's sales_open_at (2031-03-01).
        requested_at: time::macros::datetime!(2031-04-01 12:00 UTC),
    };
    broker
        .publish_envelope(
            ExchangeRole::Commands,
            &purchase_routing_key(event_id, amqp.purchase_queue_shards),
            &Envelope::new(
                purchase_id,
                PurchasesRequestedV1 {
                    requests: vec![request],
                },
            ),
        )
        .await
        .expect("published");
    shutdown.cancel();
}
