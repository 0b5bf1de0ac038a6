//! Notifications end to end: messages in, email over real SMTP and SMS over HTTP out, exactly
//! once per domain event and channel.

use std::time::Duration;

use common::test_support::{eventually, queue_depth, take_message};
use contracts::{
    Envelope,
    purchases::{OrderRejectedV1, PurchasesDecidedV1, RejectionReason},
    tickets::{IssuedTicket, TicketsIssuedV1},
};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{
    Buyer, PostOffice, free_port, lock, spawn_paced_post_office, spawn_post_office, start_smtp,
};

fn tickets_issued(buyer: &Buyer) -> Envelope<TicketsIssuedV1> {
    let purchase_id = Uuid::now_v7();
    Envelope::new(
        purchase_id,
        TicketsIssuedV1 {
            order_id: Uuid::now_v7(),
            purchase_id,
            buyer_id: buyer.id,
            event_id: Uuid::now_v7(),
            event_title: "Night Show".to_owned(),
            starts_at: OffsetDateTime::now_utc() + time::Duration::days(30),
            tickets: (1..=2)
                .map(|seat| IssuedTicket {
                    ticket_id: Uuid::now_v7(),
                    place_id: Uuid::now_v7(),
                    place: format!("Stalls, row A, seat {seat}"),
                    tier: "Premium".to_owned(),
                })
                .collect(),
        },
    )
}

/// A reservation batch's decisions: one rejected purchase for each of `buyers`.
fn rejections(buyers: &[&Buyer]) -> Envelope<PurchasesDecidedV1> {
    let event_id = Uuid::now_v7();
    Envelope::new(
        Uuid::now_v7(),
        PurchasesDecidedV1 {
            event_id,
            reserved: Vec::new(),
            rejected: buyers
                .iter()
                .map(|buyer| OrderRejectedV1 {
                    order_id: Uuid::now_v7(),
                    purchase_id: Uuid::now_v7(),
                    buyer_id: buyer.id,
                    event_id,
                    reason: RejectionReason::SoldOut,
                })
                .collect(),
        },
    )
}

fn rejected(buyer: &Buyer) -> Envelope<PurchasesDecidedV1> {
    rejections(&[buyer])
}

/// Waits long enough for a wrongly repeated send to show, then says whether one did.
async fn more_than(office: &PostOffice, mails: &crate::helpers::Mailbox, count: usize) -> bool {
    eventually(Duration::from_millis(1_500), || async {
        lock(mails).len() > count || lock(&office.texts).len() > count
    })
    .await
}

#[tokio::test]
async fn a_burst_of_messages_for_a_few_buyers_is_written_in_batches_each_notice_once() {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_post_office(port).await;
    let buyers = [
        office.buyer("b1@example.org", None, "en").await,
        office.buyer("b2@example.org", None, "ru").await,
        office.buyer("b3@example.org", None, "en").await,
    ];
    // 20 batches' decisions, each about one purchase of each buyer.
    let messages: Vec<_> = (0..20)
        .map(|_| rejections(&[&buyers[0], &buyers[1], &buyers[2]]))
        .collect();

    for message in &messages {
        office.send(message).await;
    }

    let all_sent = eventually(Duration::from_secs(20), || async {
        let log = office.log().await;
        log.len() == 120
            && log
                .iter()
                .all(|(channel, state, ..)| (channel == "email") == (state == "sent"))
    })
    .await;
    assert!(all_sent, "60 emails sent and 60 SMS skipped (no phone)");
    assert_eq!(lock(&mails).len(), 60);
    for buyer in ["b1@example.org", "b2@example.org", "b3@example.org"] {
        let received = lock(&mails).iter().filter(|(to, _)| to == &[buyer]).count();
        assert_eq!(received, 20, "{buyer}");
    }
}

#[tokio::test]
async fn notices_are_written_at_the_configured_pace_and_all_of_them_in_the_end() {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_paced_post_office(port, 20).await;
    let buyers = [
        office.buyer("b1@example.org", None, "en").await,
        office.buyer("b2@example.org", None, "en").await,
    ];
    // 20 notices at 20 a second: the last one's turn comes about a second after the first.
    let batch = rejections(&[&buyers[0], &buyers[1]].repeat(10));

    office.send(&batch).await;

    let first_written = eventually(Duration::from_secs(20), || async {
        !office.log().await.is_empty()
    })
    .await;
    assert!(first_written, "{:?}", office.log().await);
    let written_soon_after = office.log().await.len();
    assert!(
        written_soon_after < 40,
        "not all 20 notices (40 rows) at once: {written_soon_after}"
    );
    let all_sent = eventually(Duration::from_secs(20), || async {
        lock(&mails).len() == 20 && office.log().await.len() == 40
    })
    .await;
    assert!(all_sent, "every notice written and sent once in the end");
}

#[tokio::test]
async fn a_buyer_gets_one_email_with_the_ticket_links_and_one_sms_and_redelivery_sends_nothing_more()
 {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_post_office(port).await;
    let buyer = office
        .buyer("ada@example.org", Some("+15550100"), "en")
        .await;
    let issued = tickets_issued(&buyer);

    office.send(&issued).await;

    office.wait_for(&[("email", "sent"), ("sms", "sent")]).await;
    {
        let mails = lock(&mails);
        assert_eq!(mails.len(), 1);
        let (to, raw) = &mails[0];
        assert_eq!(to, &["ada@example.org"]);
        let (subject, text, html) = read_mail(raw);
        // minijinja escapes `/` in HTML as `&#x2f;`, which browsers read back as `/`.
        let html = html.replace("&#x2f;", "/");
        assert_eq!(subject, "Your tickets for Night Show are ready");
        for ticket in &issued.payload.tickets {
            let link = format!(
                "http://127.0.0.1:8080/v1/tickets/{}/document",
                ticket.ticket_id
            );
            assert!(
                text.contains(&format!("{}: {link}", ticket.place)),
                "{text}"
            );
            assert!(
                html.contains(&format!("<a href=\"{link}\">{}</a>", ticket.place)),
                "{html}"
            );
        }
    }
    {
        let texts = lock(&office.texts);
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0]["To"], "+15550100");
        assert!(
            texts[0]["Body"]
                .as_str()
                .unwrap_or_default()
                .contains("Night Show")
        );
    }

    let mut resent = Envelope::new(issued.correlation_id, issued.payload.clone());
    resent.id = Uuid::now_v7();
    office.send(&issued).await;
    office.send(&resent).await;
    assert!(
        !more_than(&office, &mails, 1).await,
        "sent once per channel"
    );

    let history: Value = office
        .delivery
        .client
        .get(office.delivery.url("/v1/notifications"))
        .bearer_auth(&buyer.token)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("a page");
    let listed = history["notifications"].as_array().expect("a list");
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|notification| notification["state"] == "sent")
    );
}

#[tokio::test]
async fn a_buyer_without_a_phone_gets_no_sms_and_that_is_recorded_not_retried() {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_post_office(port).await;
    let buyer = office.buyer("ada@example.org", None, "en").await;

    office.send(&rejected(&buyer)).await;

    office
        .wait_for(&[("email", "sent"), ("sms", "skipped")])
        .await;
    let log = office.log().await;
    assert_eq!(log[1].2, 0, "never tried");
    assert_eq!(log[1].3.as_deref(), Some("no phone number"));
    assert_eq!(lock(&mails).len(), 1);
    assert!(lock(&office.texts).is_empty());
}

#[tokio::test]
async fn notices_are_written_in_the_buyers_language() {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_post_office(port).await;
    let buyer = office.buyer("anna@example.org", None, "ru").await;

    office.send(&rejected(&buyer)).await;

    office
        .wait_for(&[("email", "sent"), ("sms", "skipped")])
        .await;
    let (subject, text, html) = read_mail(&lock(&mails)[0].1);
    assert_eq!(subject, "Не удалось забронировать места");
    assert!(text.starts_with("Здравствуйте, Ada Lovelace!"), "{text}");
    assert!(text.contains("билеты закончились"), "{text}");
    assert!(
        html.contains("<strong>билеты закончились</strong>"),
        "{html}"
    );
}

/// (subject, plain text body, HTML body) of a raw message, decoded.
fn read_mail(raw: &str) -> (String, String, String) {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message");
    (
        message.subject().unwrap_or_default().to_owned(),
        message.body_text(0).unwrap_or_default().into_owned(),
        message.body_html(0).unwrap_or_default().into_owned(),
    )
}

#[tokio::test]
async fn with_smtp_down_email_is_retried_with_backoff_and_delivered_once_it_is_up() {
    let port = free_port();
    let office = spawn_post_office(port).await;
    let buyer = office.buyer("ada@example.org", None, "en").await;

    office.send(&rejected(&buyer)).await;

    let retried = eventually(Duration::from_secs(20), || async {
        let log = office.log().await;
        log.first().is_some_and(|(_, state, attempts, error)| {
            state == "pending" && *attempts >= 2 && error.is_some()
        })
    })
    .await;
    assert!(retried, "retried while down: {:?}", office.log().await);
    let mails = start_smtp(port);
    office
        .wait_for(&[("email", "sent"), ("sms", "skipped")])
        .await;
    assert_eq!(lock(&mails).len(), 1);
}

#[tokio::test]
async fn an_address_the_server_refuses_is_not_retried_and_its_message_is_dead_lettered() {
    let port = free_port();
    let mails = start_smtp(port);
    let office = spawn_post_office(port).await;
    let buyer = office.buyer("refused@example.org", None, "en").await;
    let neighbour = office.buyer("ada@example.org", None, "en").await;
    let batch = rejections(&[&buyer, &neighbour]);

    office.send(&batch).await;

    let settled = eventually(Duration::from_secs(20), || async {
        let states: Vec<String> = office.log().await.into_iter().map(|row| row.1).collect();
        states.iter().filter(|state| *state == "failed").count() == 1
            && states.iter().filter(|state| *state == "sent").count() == 1
    })
    .await;
    assert!(settled, "{:?}", office.log().await);
    let log = office.log().await;
    let failed = log.iter().find(|row| row.1 == "failed").expect("a failure");
    assert_eq!(failed.2, 1, "tried once");
    assert_eq!(lock(&mails).len(), 1, "the neighbour's email went out");
    let dead_letters = office.context.amqp().namespace.clone() + ".dead-letter";
    assert!(
        eventually(Duration::from_secs(10), || async {
            queue_depth(&office.context.amqp(), &dead_letters)
                .await
                .unwrap_or(0)
                == 1
        })
        .await,
        "the message went to the dead-letter queue"
    );
    let dead: Envelope<PurchasesDecidedV1> = serde_json::from_slice(
        &take_message(&office.context.amqp(), &dead_letters)
            .await
            .expect("the queue answers")
            .expect("a dead letter"),
    )
    .expect("a decisions message");
    assert_eq!(dead.id, batch.id);
    assert_eq!(
        dead.payload.rejected,
        batch.payload.rejected[..1],
        "only the refused buyer's order"
    );
    assert!(dead.payload.reserved.is_empty());

    let failures: Vec<Value> = office
        .delivery
        .get("/internal/v1/notifications/failed")
        .await
        .json()
        .await
        .expect("failures");
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("550")
    );
    let id = failures[0]["notification_id"].as_str().expect("an id");
    let retry = office
        .delivery
        .client
        .post(
            office
                .delivery
                .url(&format!("/internal/v1/notifications/{id}/retry")),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(retry.status(), 202);
    assert!(
        eventually(Duration::from_secs(10), || async {
            let log = office.log().await;
            log.iter().filter(|row| row.1 == "failed").count() == 1
                && log.iter().any(|row| row.1 == "failed" && row.2 == 1)
        })
        .await
    );
    let unknown = office
        .delivery
        .client
        .post(office.delivery.url(&format!(
            "/internal/v1/notifications/{}/retry",
            Uuid::now_v7()
        )))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 404);
}
