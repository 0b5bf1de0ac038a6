//! The public catalog: search, filters and cursor pages.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_with_accounts;

#[tokio::test]
async fn a_published_event_is_found_by_a_word_of_its_description_and_drafts_are_not() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let published = catalog
        .draft(
            &organiser,
            &venue_id,
            "Spring Night",
            "a saxophone quartet under the stars",
        )
        .await;
    catalog
        .draft(
            &organiser,
            &venue_id,
            "Hidden",
            "another saxophone evening, still a draft",
        )
        .await;
    catalog
        .call(
            Method::POST,
            &format!("/v1/events/{published}/publish"),
            Some(&organiser),
            None,
        )
        .await;

    let found: Value = catalog
        .call(
            Method::GET,
            "/v1/events?q=saxophone&city=lyon&category=concert",
            None,
            None,
        )
        .await
        .json()
        .await
        .expect("page");
    let elsewhere: Value = catalog
        .call(Method::GET, "/v1/events?q=saxophone&city=Paris", None, None)
        .await
        .json()
        .await
        .expect("page");

    let items = found["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["id"], published.as_str());
    assert_eq!(items[0]["venue"]["city"], "Lyon");
    assert_eq!(items[0]["tiers"][0]["capacity"], 200);
    assert!(elsewhere["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn paging_through_250_events_sees_each_once_in_date_order() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let mut expected = HashSet::new();
    for n in 0..250 {
        let id = catalog
            .draft(&organiser, &venue_id, &format!("Show {n}"), "weekly")
            .await;
        let published = catalog
            .call(
                Method::POST,
                &format!("/v1/events/{id}/publish"),
                Some(&organiser),
                None,
            )
            .await;
        assert_eq!(published.status(), 200);
        expected.insert(id);
    }

    let mut seen = Vec::new();
    let mut path = "/v1/events?limit=40".to_owned();
    loop {
        let page: Value = catalog
            .call(Method::GET, &path, None, None)
            .await
            .json()
            .await
            .expect("page");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 40);
        seen.extend(items.iter().map(|item| {
            (
                item["starts_at"].as_str().expect("date").to_owned(),
                item["id"].as_str().expect("id").to_owned(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?limit=40&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(seen.len(), 250);
    let ids: HashSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids, expected, "no duplicates, no gaps");
    assert!(seen.windows(2).all(|pair| pair[0] <= pair[1]), "ordered");
    let too_big = catalog
        .call(Method::GET, "/v1/events?limit=1000", None, None)
        .await;
    assert_eq!(too_big.status(), 422);
}

#[tokio::test]
async fn search_results_come_by_relevance_and_page_without_repeats() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    // Same start date for all: only relevance can order them.
    let in_description = catalog
        .draft(&organiser, &venue_id, "Evening", "with a harp solo")
        .await;
    let in_title = catalog
        .draft(&organiser, &venue_id, "Harp Night", "strings")
        .await;
    let twice_in_title = catalog
        .draft(&organiser, &venue_id, "Harp and Harp", "more harp")
        .await;
    for id in [&in_description, &in_title, &twice_in_title] {
        catalog
            .call(
                Method::POST,
                &format!("/v1/events/{id}/publish"),
                Some(&organiser),
                None,
            )
            .await;
    }

    let mut order = Vec::new();
    let mut path = "/v1/events?q=harp&limit=1".to_owned();
    loop {
        let page: Value = catalog
            .call(Method::GET, &path, None, None)
            .await
            .json()
            .await
            .expect("page");
        order.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|item| item["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?q=harp&limit=1&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(order, [twice_in_title, in_title, in_description]);
}
