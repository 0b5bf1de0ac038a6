//! Drafts, ownership, publishing and the `event.published` message.

use std::time::Duration;

use common::{
    amqp::{Broker, ConsumerSpec, ExchangeRole, QueueSpec, Topology, decode, spawn_consumer},
    config::Secret,
    test_support::eventually,
};
use contracts::{
    Message,
    events::{EventCancelledV1, EventPublishedV1, EventRepricedV1},
};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Catalog, event_body, spawn_with_accounts, spawn_with_accounts_and};

type Received<P> = Arc<Mutex<Vec<P>>>;

/// Collects every `P` message from the test's broker namespace, on a queue of the test's own
/// bound before anything is published; cancel the token to stop.
async fn probe<P: Message + Send + 'static>(catalog: &Catalog) -> (Received<P>, CancellationToken) {
    let amqp = catalog.events.context.amqp();
    let queue = format!("probe-{}", P::TYPE);
    let topology = Topology::new(&amqp.namespace, amqp.delivery_limit)
        .with_queue(QueueSpec::new(&queue).bind(ExchangeRole::Events, P::TYPE));
    catalog.events.context.track_topology(&topology);
    let stop = CancellationToken::new();
    let broker = Broker::start(amqp, topology, stop.clone()).await;
    let received: Received<P> = Arc::default();
    let sink = received.clone();
    spawn_consumer(
        broker,
        ConsumerSpec {
            queue,
            prefetch_count: 4,
        },
        move |delivery| {
            let sink = sink.clone();
            async move {
                let envelope = decode::<P>(&delivery)?;
                sink.lock().expect("not poisoned").push(envelope.payload);
                Ok(())
            }
        },
        stop.clone(),
    );
    (received, stop)
}

#[tokio::test]
async fn publishing_sends_the_full_inventory_once_even_when_published_twice() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let (received, stop) = probe::<EventPublishedV1>(&catalog).await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog
        .draft(&organiser, &venue_id, "Night Show", "jazz")
        .await;

    let first = catalog
        .call(
            Method::POST,
            &format!("/v1/events/{event_id}/publish"),
            Some(&organiser),
            None,
        )
        .await;
    let second = catalog
        .call(
            Method::POST,
            &format!("/v1/events/{event_id}/publish"),
            Some(&organiser),
            None,
        )
        .await;

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let published: Value = first.json().await.expect("event");
    assert_eq!(published["status"], "published");
    assert!(
        eventually(Duration::from_secs(10), || async {
            !received.lock().expect("not poisoned").is_empty()
        })
        .await
    );
    // Give a wrongly repeated message the time to arrive before counting.
    let more = eventually(Duration::from_millis(1_500), || async {
        received.lock().expect("not poisoned").len() > 1
    })
    .await;
    assert!(!more, "published twice, announced once");
    let message = received.lock().expect("not poisoned")[0].clone();
    assert_eq!(message.event_id.to_string(), event_id);
    assert_eq!(message.per_buyer_limit, 4);
    let seats: usize = message.tiers.iter().map(|tier| tier.seat_ids.len()).sum();
    let places: u32 = message
        .tiers
        .iter()
        .flat_map(|tier| &tier.areas)
        .map(|area| area.capacity)
        .sum();
    assert_eq!((seats, places), (10 * 20 + 10, 100));
    stop.cancel();
}

#[tokio::test]
async fn a_draft_is_visible_to_its_owner_only_and_foreign_writes_are_404() {
    let catalog = spawn_with_accounts().await;
    let owner = catalog.sign_in("owner@example.org", "organiser").await;
    let rival = catalog.sign_in("rival@example.org", "organiser").await;
    let venue_id = catalog.venue(&owner).await;
    let event_id = catalog.draft(&owner, &venue_id, "Secret Gig", "soon").await;
    let path = format!("/v1/events/{event_id}");

    let by_owner = catalog.call(Method::GET, &path, Some(&owner), None).await;
    let by_rival = catalog.call(Method::GET, &path, Some(&rival), None).await;
    let anonymous = catalog.call(Method::GET, &path, None, None).await;
    let rival_patch = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&rival),
            Some(&json!({"title": "Mine now"})),
        )
        .await;
    let rival_publish = catalog
        .call(Method::POST, &format!("{path}/publish"), Some(&rival), None)
        .await;
    let rival_event_at_owner_venue = catalog
        .call(
            Method::POST,
            "/v1/events",
            Some(&rival),
            Some(&event_body(&venue_id, "Squat", "x")),
        )
        .await;

    assert_eq!(by_owner.status(), 200);
    assert_eq!(by_rival.status(), 404);
    assert_eq!(anonymous.status(), 404);
    assert_eq!(rival_patch.status(), 404);
    assert_eq!(rival_publish.status(), 404);
    assert_eq!(rival_event_at_owner_venue.status(), 404);
    let unchanged: Value = catalog
        .call(Method::GET, &path, Some(&owner), None)
        .await
        .json()
        .await
        .expect("event");
    assert_eq!(unchanged["title"], "Secret Gig");
}

#[tokio::test]
async fn overlapping_or_incomplete_tiers_are_refused_naming_the_problem() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let mut overlapping = event_body(&venue_id, "Clash", "x");
    overlapping["tiers"][1]["sections"] = json!(["Balcony", "Stalls"]);
    let mut incomplete = event_body(&venue_id, "Gap", "x");
    incomplete["tiers"][1]["areas"] = json!([]);

    let overlap = catalog
        .call(
            Method::POST,
            "/v1/events",
            Some(&organiser),
            Some(&overlapping),
        )
        .await;
    let gap = catalog
        .call(
            Method::POST,
            "/v1/events",
            Some(&organiser),
            Some(&incomplete),
        )
        .await;

    assert_eq!(overlap.status(), 422);
    let problem: Value = overlap.json().await.expect("problem");
    assert!(
        problem["errors"]["tiers[1].sections"]
            .as_str()
            .is_some_and(|message| message.contains("Stalls")),
        "{problem}"
    );
    assert_eq!(gap.status(), 422);
    let problem: Value = gap.json().await.expect("problem");
    assert!(
        problem["errors"]["tiers"]
            .as_str()
            .is_some_and(|message| message.contains("Floor")),
        "{problem}"
    );
}

#[tokio::test]
async fn after_publishing_text_may_change_but_tiers_and_schedule_may_not() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog.draft(&organiser, &venue_id, "Opening", "x").await;
    let path = format!("/v1/events/{event_id}");
    let draft_edit = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&json!({"per_buyer_limit": 2})),
        )
        .await;
    assert_eq!(draft_edit.status(), 200);
    catalog
        .call(
            Method::POST,
            &format!("{path}/publish"),
            Some(&organiser),
            None,
        )
        .await;

    let retitled = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&json!({"title": "Grand Opening"})),
        )
        .await;
    let rescheduled = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&json!({"sales_open_at": "2031-02-01T10:00:00Z"})),
        )
        .await;

    assert_eq!(retitled.status(), 200);
    let event: Value = retitled.json().await.expect("event");
    assert_eq!(event["title"], "Grand Opening");
    assert_eq!(event["per_buyer_limit"], 2);
    assert_eq!(rescheduled.status(), 409);
}

#[tokio::test]
async fn prices_can_change_after_publishing_and_order_service_is_told() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let (repriced, stop) = probe::<EventRepricedV1>(&catalog).await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog.draft(&organiser, &venue_id, "Encore", "x").await;
    let path = format!("/v1/events/{event_id}");
    let event = catalog.publish(&organiser, &event_id).await;
    let tier_id = event["tiers"][0]["id"].as_str().expect("tier").to_owned();
    let reprice = |tier: String, price: i64| json!({"tier_prices": [{"tier_id": tier, "price_minor": price}]});

    let negative = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&reprice(tier_id.clone(), -1)),
        )
        .await;
    let foreign_tier = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&reprice(uuid::Uuid::now_v7().to_string(), 100)),
        )
        .await;
    let repriced_answer = catalog
        .call(
            Method::PATCH,
            &path,
            Some(&organiser),
            Some(&reprice(tier_id.clone(), 12_345)),
        )
        .await;

    assert_eq!(negative.status(), 422);
    assert_eq!(foreign_tier.status(), 422);
    assert_eq!(repriced_answer.status(), 200);
    let event: Value = repriced_answer.json().await.expect("event");
    assert_eq!(event["tiers"][0]["price_minor"], 12_345);
    assert!(
        eventually(Duration::from_secs(10), || async {
            !repriced.lock().expect("not poisoned").is_empty()
        })
        .await
    );
    let messages = repriced.lock().expect("not poisoned").clone();
    assert_eq!(messages.len(), 1, "refused edits sent nothing");
    assert_eq!(messages[0].event_id.to_string(), event_id);
    assert_eq!(messages[0].prices[0].price_minor, 12_345);
    stop.cancel();
}

#[tokio::test]
async fn an_event_published_while_the_broker_is_away_is_announced_once_after_restarts() {
    let mut catalog = spawn_with_accounts_and(|config| {
        config.amqp.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f".to_owned());
    })
    .await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let (received, stop) = probe::<EventPublishedV1>(&catalog).await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog.draft(&organiser, &venue_id, "Late Show", "x").await;
    // Publishing does not need the broker: `publish` asserts the 200.
    catalog.publish(&organiser, &event_id).await;
    let early = eventually(Duration::from_millis(500), || async {
        !received.lock().expect("not poisoned").is_empty()
    })
    .await;
    assert!(!early, "nothing can be announced without a broker");

    catalog.restart_events().await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            received.lock().expect("not poisoned").len() == 1
        })
        .await,
        "the relay announced it after the restart"
    );
    catalog.restart_events().await;
    let repeated = eventually(Duration::from_millis(1_500), || async {
        received.lock().expect("not poisoned").len() > 1
    })
    .await;
    assert!(!repeated, "a second restart announces nothing again");
    stop.cancel();
}

#[tokio::test]
async fn a_published_event_is_cancelled_by_its_organiser_only_and_announced_once() {
    let catalog = spawn_with_accounts().await;
    let organiser = catalog.sign_in("org@example.org", "organiser").await;
    let rival = catalog.sign_in("rival@example.org", "organiser").await;
    let (received, stop) = probe::<EventCancelledV1>(&catalog).await;
    let venue_id = catalog.venue(&organiser).await;
    let event_id = catalog
        .draft(&organiser, &venue_id, "Night Show", "jazz")
        .await;
    let path = format!("/v1/events/{event_id}/cancel");

    let draft = catalog
        .call(Method::POST, &path, Some(&organiser), None)
        .await;
    assert_eq!(draft.status(), 409, "a draft is not on sale");
    catalog.publish(&organiser, &event_id).await;
    let foreign = catalog.call(Method::POST, &path, Some(&rival), None).await;
    assert_eq!(foreign.status(), 404);
    let anonymous = catalog.call(Method::POST, &path, None, None).await;
    assert_eq!(anonymous.status(), 401);

    let first = catalog
        .call(Method::POST, &path, Some(&organiser), None)
        .await;
    let second = catalog
        .call(Method::POST, &path, Some(&organiser), None)
        .await;

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let cancelled: Value = first.json().await.expect("event");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(
        eventually(Duration::from_secs(10), || async {
            !received.lock().expect("not poisoned").is_empty()
        })
        .await
    );
    let more = eventually(Duration::from_millis(1_500), || async {
        received.lock().expect("not poisoned").len() > 1
    })
    .await;
    assert!(!more, "cancelled twice, announced once");
    assert_eq!(
        received.lock().expect("not poisoned")[0]
            .event_id
            .to_string(),
        event_id
    );
    let listed = catalog.get_json("/v1/events?q=Night").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    let shown = catalog.get_json(&format!("/v1/events/{event_id}")).await;
    assert_eq!(shown["status"], "cancelled");
    let edit = catalog
        .call(
            Method::PATCH,
            &format!("/v1/events/{event_id}"),
            Some(&organiser),
            Some(&json!({"title": "Back on"})),
        )
        .await;
    assert_eq!(edit.status(), 409);
    stop.cancel();
}
