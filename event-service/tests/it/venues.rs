//! Venues and their seat maps.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{spawn_with_accounts, venue_body};

#[tokio::test]
async fn a_venue_of_60000_seats_is_created_in_one_call_with_stable_seat_ids() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;

    // 100 rows of 600 seats: the size of a stadium.
    let response = catalog
        .call(
            Method::POST,
            "/v1/venues",
            Some(&organiser),
            Some(&venue_body(100, 600)),
        )
        .await;

    assert_eq!(response.status(), 201);
    let venue: Value = response.json().await.expect("venue");
    assert_eq!(venue["capacity"], 60_000 + 10 + 100);
    let stalls = &venue["sections"][0];
    assert_eq!(stalls["rows"].as_array().expect("rows").len(), 100);
    let row = &stalls["rows"][5];
    assert_eq!(row["label"], "R5");
    assert_eq!(row["seats"][11]["number"], 12);
    let mut ids: Vec<&str> = venue["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| section["rows"].as_array().expect("rows"))
        .flat_map(|row| row["seats"].as_array().expect("seats"))
        .map(|seat| seat["id"].as_str().expect("id"))
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (total, ids.len()),
        (60_010, 60_010),
        "every seat has its own id"
    );
}

#[tokio::test]
async fn an_invalid_venue_is_422_naming_the_fields() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;

    let response = catalog
        .call(
            Method::POST,
            "/v1/venues",
            Some(&organiser),
            Some(&json!({"name": "", "city": "Lyon", "address": "x",
                         "sections": [{"name": "S", "rows": [{"label": "A", "seats": 0}]}],
                         "areas": []})),
        )
        .await;

    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("problem");
    assert!(problem["errors"]["name"].is_string());
    assert!(problem["errors"]["sections[0].rows[0].seats"].is_string());
}

#[tokio::test]
async fn a_buyer_cannot_create_venues_and_an_anonymous_caller_is_401() {
    let catalog = spawn_with_accounts().await;
    let buyer = catalog.sign_in("buyer@example.org", "buyer").await;

    let as_buyer = catalog
        .call(
            Method::POST,
            "/v1/venues",
            Some(&buyer),
            Some(&venue_body(1, 1)),
        )
        .await;
    let anonymous = catalog
        .call(Method::POST, "/v1/venues", None, Some(&venue_body(1, 1)))
        .await;

    assert_eq!(as_buyer.status(), 403);
    assert_eq!(anonymous.status(), 401);
}
