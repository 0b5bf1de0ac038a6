//! Issuing, downloading, revoking and scanning tickets, against the real services.

use std::time::Duration;

use common::test_support::eventually;
use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};
use ticket_service::domain::code::TicketCode;
use uuid::Uuid;

use crate::helpers::{Desk, spawn_desk, spawn_desk_with};

/// The text shown by every page of a PDF, as a PDF reader extracts it.
fn pdf_text(bytes: &[u8]) -> String {
    let document = lopdf::Document::load_mem(bytes).expect("a PDF that parses");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

fn code(desk: &Desk, ticket_id: Uuid) -> String {
    TicketCode {
        ticket_id,
        event_id: desk.event.event.id,
    }
    .sign(&desk.signing_key)
}

async fn scan(desk: &Desk, token: &str, code: &str) -> (u16, Value) {
    let response = desk
        .call(
            Method::POST,
            "/v1/checkins",
            Some(token),
            Some(json!({ "code": code })),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_paid_order_of_three_places_gets_three_tickets_whose_pdfs_show_their_places() {
    let desk = spawn_desk().await;
    let paid = desk.paid(desk.places(2, 1));
    let order_id = paid.payload.order_id;

    desk.send(&paid).await;

    desk.wait_for_valid(order_id, 3).await;
    let keys = desk.stored_documents().await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    let mut texts = Vec::new();
    for key in &keys {
        texts.push(pdf_text(&desk.document(key).await));
    }
    let all = texts.join("\n");
    for expected in [
        "Stalls, row A, seat 1",
        "Stalls, row A, seat 2",
        "Floor (general admission)",
        "Night Show",
        "Holder: Ada Lovelace",
        "Salle Pleyel",
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
    assert_eq!(desk.outbox_count("ticket.issued").await, 1);

    let listed: Value = desk
        .call(Method::GET, "/v1/tickets", Some(&desk.buyer.token), None)
        .await
        .json()
        .await
        .expect("tickets");
    let tickets = listed["tickets"].as_array().expect("a list");
    assert_eq!(tickets.len(), 3);
    assert!(tickets.iter().all(|ticket| ticket["state"] == "valid"));
    let first = tickets[0]["ticket_id"].as_str().expect("an id");
    let one = desk
        .call(
            Method::GET,
            &format!("/v1/tickets/{first}"),
            Some(&desk.buyer.token),
            None,
        )
        .await;
    assert_eq!(one.status(), 200);
    let stranger = desk.someone("eve@example.org", "buyer").await;
    let theirs = desk
        .call(
            Method::GET,
            &format!("/v1/tickets/{first}"),
            Some(&stranger.token),
            None,
        )
        .await;
    assert_eq!(theirs.status(), 404);
    let document = desk
        .call(
            Method::GET,
            &format!("/v1/tickets/{first}/document"),
            Some(&stranger.token),
            None,
        )
        .await;
    assert_eq!(document.status(), 404);
}

#[tokio::test]
async fn a_redelivered_order_paid_and_a_second_instance_make_no_duplicate_tickets() {
    let desk = spawn_desk().await;
    let second =
        ticket_service::test_support::spawn(desk.context.clone(), desk.config.clone()).await;
    let paid = desk.paid(desk.places(3, 0));
    let order_id = paid.payload.order_id;
    let mut resent = contracts::Envelope::new(paid.correlation_id, paid.payload.clone());
    resent.id = uuid::Uuid::now_v7();

    futures::join!(desk.send(&paid), desk.send(&paid), desk.send(&resent));

    desk.wait_for_valid(order_id, 3).await;
    // Give a wrongly doubled issue the time to show before counting.
    let more = eventually(Duration::from_millis(1_500), || async {
        desk.ticket_ids(order_id).await.len() > 3 || desk.outbox_count("ticket.issued").await > 1
    })
    .await;
    assert!(!more, "issued once");
    assert_eq!(desk.stored_documents().await.len(), 3);
    second.stop().await;
}

#[tokio::test]
async fn the_download_link_fetches_the_pdf_and_then_expires() {
    let desk = spawn_desk_with(|config| {
        config.tickets.download_link_ttl = Duration::from_secs(2);
    })
    .await;
    let paid = desk.paid(desk.places(1, 0));
    desk.send(&paid).await;
    desk.wait_for_valid(paid.payload.order_id, 1).await;
    let ticket_id = desk.ticket_ids(paid.payload.order_id).await[0];
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");

    let answer = no_redirects
        .get(
            desk.tickets
                .url(&format!("/v1/tickets/{ticket_id}/document")),
        )
        .bearer_auth(&desk.buyer.token)
        .send()
        .await
        .expect("answer");

    assert_eq!(answer.status(), 302);
    let link = answer.headers()["location"]
        .to_str()
        .expect("a link")
        .to_owned();
    let fetched = no_redirects
        .get(&link)
        .send()
        .await
        .expect("the store answers");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    let body = fetched.bytes().await.expect("a body");
    assert!(pdf_text(&body).contains("Stalls, row A, seat 1"));
    let expired = eventually(Duration::from_secs(15), || async {
        no_redirects
            .get(&link)
            .send()
            .await
            .is_ok_and(|response| response.status().is_client_error())
    })
    .await;
    let last = no_redirects.get(&link).send().await.expect("answer");
    assert!(
        expired,
        "the link stops working: {} {:?}",
        last.status(),
        last.text().await
    );
}

#[tokio::test]
async fn check_in_admits_a_ticket_once_and_refuses_forged_altered_and_foreign_codes() {
    let desk = spawn_desk().await;
    let paid = desk.paid(desk.places(3, 0));
    desk.send(&paid).await;
    desk.wait_for_valid(paid.payload.order_id, 3).await;
    let ids = desk.ticket_ids(paid.payload.order_id).await;
    let organiser = desk.organiser.token.clone();

    let (status, admitted) = scan(&desk, &organiser, &code(&desk, ids[0])).await;
    assert_eq!(status, 200, "{admitted}");
    assert!(
        admitted["place"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Stalls, row A")
    );
    assert_eq!(admitted["holder_name"], "Ada Lovelace");
    let (status, again) = scan(&desk, &organiser, &code(&desk, ids[0])).await;
    assert_eq!(status, 409);
    assert_eq!(again["code"], "ticket-used");
    assert!(
        again["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("used at")
    );

    let forged = TicketCode {
        ticket_id: ids[1],
        event_id: desk.event.event.id,
    }
    .sign(&common::signing_keys::generate_signing_key().expect("a key"));
    let (status, problem) = scan(&desk, &organiser, &forged).await;
    assert_eq!(status, 422);
    assert_eq!(problem["code"], "invalid-ticket");
    let genuine = code(&desk, ids[1]);
    let altered = genuine.replacen("TKT1.", "TKT1.A", 1);
    assert_eq!(scan(&desk, &organiser, &altered).await.0, 422);
    assert_eq!(scan(&desk, &organiser, "not a code").await.0, 422);
    let rival = desk.someone("rival@example.org", "organiser").await;
    assert_eq!(
        scan(&desk, &rival.token, &genuine).await.0,
        422,
        "another organiser's event"
    );
    assert_eq!(
        scan(&desk, &desk.buyer.token, &genuine).await.0,
        422,
        "the holder cannot admit themselves"
    );

    let staff = desk.someone("door@example.org", "buyer").await;
    assert_eq!(scan(&desk, &staff.token, &genuine).await.0, 422);
    let named = desk
        .call(
            Method::POST,
            "/v1/checkin-staff",
            Some(&rival.token),
            Some(json!({"event_id": desk.event.event.id, "account_id": staff.id})),
        )
        .await;
    assert_eq!(
        named.status(),
        404,
        "only the event's organiser names staff"
    );
    let named = desk
        .call(
            Method::POST,
            "/v1/checkin-staff",
            Some(&organiser),
            Some(json!({"event_id": desk.event.event.id, "account_id": staff.id})),
        )
        .await;
    assert_eq!(named.status(), 204);
    assert_eq!(
        scan(&desk, &staff.token, &genuine).await.0,
        200,
        "named staff scan"
    );

    let contested = code(&desk, ids[2]);
    let statuses: Vec<u16> = stream::iter(0..20)
        .map(|_| scan(&desk, &organiser, &contested))
        .buffer_unordered(20)
        .map(|(status, _)| status)
        .collect()
        .await;
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 409).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_refund_revokes_the_tickets_and_deletes_their_documents() {
    let desk = spawn_desk().await;
    let paid = desk.paid(desk.places(2, 0));
    let order_id = paid.payload.order_id;
    desk.send(&paid).await;
    desk.wait_for_valid(order_id, 2).await;
    assert_eq!(desk.stored_documents().await.len(), 2);
    let ticket_id = desk.ticket_ids(order_id).await[0];

    desk.send(&desk.refunded(&paid.payload)).await;

    assert!(
        eventually(Duration::from_secs(20), || async {
            desk.states(order_id).await == [("revoked".to_owned(), 2)]
                && desk.stored_documents().await.is_empty()
        })
        .await,
        "revoked and deleted: {:?}",
        desk.states(order_id).await
    );
    assert_eq!(desk.outbox_count("ticket.revoked").await, 1);
    let (status, problem) = scan(&desk, &desk.organiser.token, &code(&desk, ticket_id)).await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "ticket-revoked");
    let document = desk
        .call(
            Method::GET,
            &format!("/v1/tickets/{ticket_id}/document"),
            Some(&desk.buyer.token),
            None,
        )
        .await;
    assert_eq!(document.status(), 409);

    // A payment whose refund overtook it issues nothing.
    let late = desk.paid(desk.places(1, 0));
    desk.send(&desk.refunded(&late.payload)).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            let db = desk.db().await;
            db.query_opt(
                "SELECT 1 FROM revoked_orders WHERE order_id = $1",
                &[&late.payload.order_id],
            )
            .await
            .expect("query")
            .is_some()
        })
        .await
    );
    desk.send(&late).await;
    let issued = eventually(Duration::from_secs(2), || async {
        !desk.ticket_ids(late.payload.order_id).await.is_empty()
    })
    .await;
    assert!(!issued, "no ticket for a refunded order");
}
