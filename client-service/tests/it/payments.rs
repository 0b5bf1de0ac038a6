//! Paying holds, end to end through the gateway, against real Postgres, Redis and RabbitMQ:
//! the sandbox provider's ledger proves who was charged, and how often.

use std::time::Duration;

use common::test_support::eventually;
use futures::{StreamExt, stream};
use order_service::payments::{sandbox::SIGNATURE_HEADER, signature};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{Pipeline, spawn_pipeline, spawn_pipeline_with};

/// (charges that succeeded and were not refunded, refunds) in the sandbox's own ledger.
async fn ledger(pipeline: &Pipeline) -> (i64, i64) {
    let db = pipeline.orders_db().await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM sandbox_charges c WHERE status = 'succeeded'
                       AND NOT EXISTS (SELECT 1 FROM sandbox_refunds r WHERE r.charge_id = c.charge_id)),
                    (SELECT count(*) FROM sandbox_refunds)",
            &[],
        )
        .await
        .expect("ledger");
    (row.get(0), row.get(1))
}

async fn order_state(pipeline: &Pipeline, order_id: Uuid) -> String {
    let db = pipeline.orders_db().await;
    db.query_one("SELECT state FROM orders WHERE order_id = $1", &[&order_id])
        .await
        .expect("order")
        .get(0)
}

async fn places_in_state(pipeline: &Pipeline, event_id: Uuid, state: &str) -> i64 {
    let db = pipeline.orders_db().await;
    db.query_one(
        "SELECT count(*) FROM places WHERE event_id = $1 AND state = $2",
        &[&event_id, &state],
    )
    .await
    .expect("count")
    .get(0)
}

async fn outbox_count(pipeline: &Pipeline, routing_key: &str) -> i64 {
    let db = pipeline.orders_db().await;
    db.query_one(
        "SELECT count(*) FROM outbox WHERE routing_key = $1",
        &[&routing_key],
    )
    .await
    .expect("count")
    .get(0)
}

fn history(order: &Value) -> Vec<String> {
    order["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|step| step["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_paid_hold_sells_its_places_once_and_the_buyer_sees_it_paid() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (purchase_id, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 2).await;

    let paid = pipeline.pay(&buyer, order_id, "pay-1", "tok_visa").await;

    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["state"], "paid");
    assert_eq!(paid.body["amount_minor"], 9_000);
    assert_eq!(paid.body["currency"], "EUR");
    assert_eq!(history(&paid.body), ["reserved", "paid"]);
    assert_eq!(places_in_state(&pipeline, event.event_id, "sold").await, 2);
    assert_eq!(ledger(&pipeline).await, (1, 0));
    assert_eq!(outbox_count(&pipeline, "order.paid").await, 1);
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.status(&buyer, &purchase_id.to_string()).await.body["status"] == "paid"
        })
        .await,
        "the purchase status follows order.paid"
    );

    let repeat = pipeline.pay(&buyer, order_id, "pay-1", "tok_visa").await;
    assert_eq!(repeat.status, 200, "{:?}", repeat.body);
    assert_eq!(repeat.body["order_id"], paid.body["order_id"]);
    let again = pipeline.pay(&buyer, order_id, "pay-2", "tok_visa").await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["code"], "already-paid");
    assert_eq!(ledger(&pipeline).await, (1, 0), "nothing was charged again");
    assert_eq!(outbox_count(&pipeline, "order.paid").await, 1);
}

#[tokio::test]
async fn a_declined_card_is_a_402_that_keeps_the_hold_and_another_card_can_pay() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;

    let declined = pipeline.pay(&buyer, order_id, "k1", "tok_declined").await;

    assert_eq!(declined.status, 402, "{:?}", declined.body);
    assert_eq!(declined.body["code"], "payment-declined");
    assert_eq!(order_state(&pipeline, order_id).await, "reserved");
    assert_eq!(places_in_state(&pipeline, event.event_id, "held").await, 1);
    assert_eq!(ledger(&pipeline).await, (0, 0));
    let repeat = pipeline.pay(&buyer, order_id, "k1", "tok_declined").await;
    assert_eq!(repeat.status, 402, "the same key gives the same answer");

    let paid = pipeline.pay(&buyer, order_id, "k2", "tok_visa").await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(ledger(&pipeline).await, (1, 0));
}

#[tokio::test]
async fn concurrent_payments_of_one_order_charge_it_once_whatever_their_keys() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, same_key_order) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;
    let (_, many_keys_order) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;

    let same_key: Vec<u16> = stream::iter(0..10)
        .map(|_| pipeline.pay(&buyer, same_key_order, "one-key", "tok_visa"))
        .buffer_unordered(10)
        .map(|answer| answer.status)
        .collect()
        .await;
    let many_keys: Vec<Value> = stream::iter(0..10)
        .map(|index| {
            let buyer = &buyer;
            let pipeline = &pipeline;
            async move {
                pipeline
                    .pay(buyer, many_keys_order, &format!("key-{index}"), "tok_visa")
                    .await
            }
        })
        .buffer_unordered(10)
        .map(|answer| json!({"status": answer.status, "code": answer.body["code"]}))
        .collect()
        .await;

    assert!(same_key.iter().all(|status| *status == 200), "{same_key:?}");
    let won = many_keys
        .iter()
        .filter(|answer| answer["status"] == 200)
        .count();
    assert_eq!(won, 1, "{many_keys:?}");
    assert!(
        many_keys.iter().all(|answer| answer["status"] == 200
            || (answer["status"] == 409
                && ["payment-in-progress", "already-paid"]
                    .contains(&answer["code"].as_str().unwrap_or_default()))),
        "{many_keys:?}"
    );
    assert_eq!(ledger(&pipeline).await, (2, 0), "one charge per order");
}

#[tokio::test]
async fn a_payment_landing_after_the_hold_expired_takes_the_free_places_again() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.hold_duration = Duration::from_secs(1);
        config.payments.sandbox_slow_delay = Duration::from_millis(2_500);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 2).await;

    let paid = pipeline.pay(&buyer, order_id, "slow", "tok_slow").await;

    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["state"], "paid");
    assert_eq!(history(&paid.body), ["reserved", "expired", "paid"]);
    assert_eq!(places_in_state(&pipeline, event.event_id, "sold").await, 2);
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 2);
    assert_eq!(ledger(&pipeline).await, (1, 0));
    assert!(
        eventually(Duration::from_secs(5), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (8, 8)
        })
        .await,
        "the counter takes the places out again: {:?}",
        pipeline.counter_and_truth(event.event_id, tier_id).await
    );
}

#[tokio::test]
async fn a_payment_landing_after_its_places_were_sold_again_is_refunded() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.hold_duration = Duration::from_millis(1_500);
        config.payments.sandbox_slow_delay = Duration::from_secs(4);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(2, 4).await;
    let late = pipeline.buyer(Uuid::now_v7());
    let quick = pipeline.buyer(Uuid::now_v7());
    let (late_purchase, late_order) = pipeline.reserve(&late, event.event_id, tier_id, 2).await;
    let slow_payment = pipeline.pay(&late, late_order, "slow", "tok_slow");
    let resale = async {
        assert!(
            eventually(Duration::from_secs(10), || async {
                order_state(&pipeline, late_order).await == "expired"
            })
            .await
        );
        let (_, quick_order) = pipeline.reserve(&quick, event.event_id, tier_id, 2).await;
        let paid = pipeline.pay(&quick, quick_order, "fast", "tok_visa").await;
        assert_eq!(paid.status, 200, "{:?}", paid.body);
        quick_order
    };

    let (answer, quick_order) = tokio::join!(slow_payment, resale);

    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.body["code"], "hold-expired");
    assert_eq!(order_state(&pipeline, late_order).await, "refunded");
    assert_eq!(order_state(&pipeline, quick_order).await, "paid");
    assert_eq!(
        ledger(&pipeline).await,
        (1, 1),
        "the late charge was refunded"
    );
    assert_eq!(outbox_count(&pipeline, "order.refunded").await, 1);
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 2);
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline
                .status(&late, &late_purchase.to_string())
                .await
                .body["status"]
                == "refunded"
        })
        .await,
        "the buyer is told"
    );
}

#[tokio::test]
async fn paying_an_expired_hold_is_refused_and_charges_nothing() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.hold_duration = Duration::from_secs(1);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            order_state(&pipeline, order_id).await == "expired"
        })
        .await
    );

    let answer = pipeline.pay(&buyer, order_id, "late", "tok_visa").await;

    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.body["code"], "hold-expired");
    assert_eq!(ledger(&pipeline).await, (0, 0));
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_puts_its_places_back_on_sale() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(2, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (purchase_id, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 2).await;
    assert_eq!(
        pipeline.pay(&buyer, order_id, "k", "tok_visa").await.status,
        200
    );
    let path = format!("/v1/orders/{order_id}/cancel");

    let cancelled = pipeline
        .order_call(&buyer, Method::POST, &path, None, None)
        .await;

    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["state"], "refunded");
    assert_eq!(history(&cancelled.body), ["reserved", "paid", "refunded"]);
    assert_eq!(ledger(&pipeline).await, (0, 1));
    assert_eq!(
        places_in_state(&pipeline, event.event_id, "available").await,
        2
    );
    assert_eq!(outbox_count(&pipeline, "order.refunded").await, 1);
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (2, 2)
        })
        .await
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.status(&buyer, &purchase_id.to_string()).await.body["status"] == "refunded"
        })
        .await
    );
    let twice = pipeline
        .order_call(&buyer, Method::POST, &path, None, None)
        .await;
    assert_eq!(twice.status, 409, "{:?}", twice.body);
    assert_eq!(ledger(&pipeline).await, (0, 1), "refunded once");
}

#[tokio::test]
async fn a_timed_out_payment_is_settled_by_the_webhook_and_forged_webhooks_change_nothing() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.payments.charge_timeout = Duration::from_millis(300);
        config.payments.sandbox_slow_delay = Duration::from_millis(2_000);
        config.payments.pending_recovery_after = Duration::from_secs(600);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;

    let pending = pipeline.pay(&buyer, order_id, "slow", "tok_slow").await;
    assert_eq!(pending.status, 503, "{:?}", pending.body);
    assert!(pending.retry_after.is_some());
    let db = pipeline.orders_db().await;
    let payment_id: Uuid = db
        .query_one(
            "SELECT payment_id FROM payments WHERE order_id = $1",
            &[&order_id],
        )
        .await
        .expect("a pending payment")
        .get(0);

    let forged = json!({
        "id": "evt_forged", "type": "charge.succeeded", "idempotency_key": payment_id.to_string(),
        "charge_id": "ch_forged", "amount_minor": 4500, "currency": "EUR"
    })
    .to_string();
    let webhook = pipeline.orders[0].url("/v1/payments/webhook");
    let secret = b"whsec_local_development_only";
    let attempts = [
        signature::sign(
            b"not the secret",
            OffsetDateTime::now_utc(),
            forged.as_bytes(),
        ),
        signature::sign(
            secret,
            OffsetDateTime::now_utc() - time::Duration::minutes(10),
            forged.as_bytes(),
        ),
        "t=1,v1=00".to_owned(),
    ];
    for header in attempts {
        let refused = pipeline.orders[0]
            .client
            .post(&webhook)
            .header(SIGNATURE_HEADER, header)
            .body(forged.clone())
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status(), 400);
        let problem: Value = refused.json().await.expect("a problem");
        assert_eq!(problem["code"], "invalid-signature");
    }
    let unsigned = pipeline.orders[0]
        .client
        .post(&webhook)
        .body(forged.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(unsigned.status(), 400);
    let state: String = db
        .query_one(
            "SELECT state FROM payments WHERE payment_id = $1",
            &[&payment_id],
        )
        .await
        .expect("payment")
        .get(0);
    assert_eq!(state, "pending", "forged webhooks changed nothing");
    assert_eq!(order_state(&pipeline, order_id).await, "reserved");

    assert!(
        eventually(Duration::from_secs(15), || async {
            order_state(&pipeline, order_id).await == "paid"
        })
        .await,
        "the sandbox's signed webhook settled the payment"
    );
    let repeat = pipeline.pay(&buyer, order_id, "slow", "tok_slow").await;
    assert_eq!(repeat.status, 200, "{:?}", repeat.body);
    assert_eq!(ledger(&pipeline).await, (1, 0));
}

#[tokio::test]
async fn orders_are_listed_newest_first_for_their_buyer_only() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 10).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(pipeline.reserve(&buyer, event.event_id, tier_id, 1).await.1);
    }

    let first = pipeline
        .order_call(&buyer, Method::GET, "/v1/orders?limit=2", None, None)
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let ids = |page: &Value| -> Vec<String> {
        page["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|order| order["order_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&first.body),
        [orders[2].to_string(), orders[1].to_string()]
    );
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = pipeline
        .order_call(
            &buyer,
            Method::GET,
            &format!("/v1/orders?limit=2&cursor={cursor}"),
            None,
            None,
        )
        .await;
    assert_eq!(ids(&second.body), [orders[0].to_string()]);
    assert!(second.body["next_cursor"].is_null());
    let one = pipeline
        .order_call(
            &buyer,
            Method::GET,
            &format!("/v1/orders/{}", orders[0]),
            None,
            None,
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["places"].as_array().map(Vec::len), Some(1));
    assert_eq!(one.body["amount_minor"], 4_500);
    assert_eq!(history(&one.body), ["reserved"]);

    let stranger = pipeline.buyer(Uuid::now_v7());
    let path = format!("/v1/orders/{}", orders[0]);
    assert_eq!(
        pipeline
            .order_call(&stranger, Method::GET, &path, None, None)
            .await
            .status,
        404
    );
    assert_eq!(
        pipeline
            .pay(&stranger, orders[0], "k", "tok_visa")
            .await
            .status,
        404
    );
    let cancel = format!("/v1/orders/{}/cancel", orders[0]);
    assert_eq!(
        pipeline
            .order_call(&stranger, Method::POST, &cancel, None, None)
            .await
            .status,
        404
    );
    let listed = pipeline
        .order_call(&stranger, Method::GET, "/v1/orders", None, None)
        .await;
    assert_eq!(ids(&listed.body), Vec::<String>::new());
    assert_eq!(order_state(&pipeline, orders[0]).await, "reserved");
    assert_eq!(ledger(&pipeline).await, (0, 0));
}

#[tokio::test]
async fn bad_payment_requests_get_clear_problems_and_change_nothing() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;
    let (_, other_order) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;
    let path = format!("/v1/orders/{order_id}/payment");

    let no_key = pipeline
        .order_call(
            &buyer,
            Method::POST,
            &path,
            None,
            Some(json!({"card_token": "tok_visa"})),
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert_eq!(no_key.body["code"], "missing-header");
    let empty = pipeline.pay(&buyer, order_id, "k", " ").await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.body["errors"]["card_token"].is_string(),
        "{:?}",
        empty.body
    );
    let not_json = pipeline
        .order_call(
            &buyer,
            Method::POST,
            &path,
            Some("k"),
            Some(json!({"card": 1})),
        )
        .await;
    assert_eq!(not_json.status, 422, "{:?}", not_json.body);
    let unsigned = pipeline.gateways[0]
        .client
        .post(pipeline.gateways[0].url(&path))
        .header("Idempotency-Key", "k")
        .json(&json!({"card_token": "tok_visa"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(unsigned.status(), 401);
    let unknown = pipeline.pay(&buyer, Uuid::now_v7(), "k", "tok_visa").await;
    assert_eq!(unknown.status, 404);

    assert_eq!(
        pipeline
            .pay(&buyer, order_id, "k", "tok_declined")
            .await
            .status,
        402
    );
    let reused = pipeline.pay(&buyer, other_order, "k", "tok_declined").await;
    assert_eq!(reused.status, 422, "{:?}", reused.body);
    assert_eq!(reused.body["code"], "idempotency-key-reused");
    let other_card = pipeline.pay(&buyer, order_id, "k", "tok_visa").await;
    assert_eq!(other_card.status, 422, "{:?}", other_card.body);
    assert_eq!(order_state(&pipeline, order_id).await, "reserved");
    assert_eq!(order_state(&pipeline, other_order).await, "reserved");
    assert_eq!(ledger(&pipeline).await, (0, 0));
}

#[tokio::test]
async fn after_three_hundred_concurrent_payments_the_ledger_equals_the_paid_orders() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(300, 1).await;
    let buyers: Vec<String> = (0..300).map(|_| pipeline.buyer(Uuid::now_v7())).collect();
    let orders: Vec<(usize, Uuid)> = stream::iter(buyers.iter().enumerate())
        .map(|(index, token)| {
            let pipeline = &pipeline;
            async move {
                (
                    index,
                    pipeline.reserve(token, event.event_id, tier_id, 1).await.1,
                )
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;

    // Every tenth buyer's card is declined; every seventh pays twice at once with two keys.
    let attempts: Vec<(usize, Uuid, String, &str)> = orders
        .iter()
        .flat_map(|(index, order_id)| {
            let card = if index % 10 == 0 {
                "tok_declined"
            } else {
                "tok_visa"
            };
            let repeats = if index % 7 == 0 { 2 } else { 1 };
            (0..repeats).map(move |repeat| (*index, *order_id, format!("{index}-{repeat}"), card))
        })
        .collect();
    let statuses: Vec<u16> = stream::iter(attempts)
        .map(|(index, order_id, key, card)| {
            let pipeline = &pipeline;
            let token = &buyers[index];
            async move { pipeline.pay(token, order_id, &key, card).await.status }
        })
        .buffer_unordered(64)
        .collect()
        .await;

    assert!(
        statuses
            .iter()
            .all(|status| [200, 402, 409].contains(status)),
        "{statuses:?}"
    );
    let db = pipeline.orders_db().await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM orders WHERE state = 'paid'),
                    (SELECT coalesce(sum(amount_minor), 0)::bigint FROM orders WHERE state = 'paid'),
                    (SELECT count(*) FROM sandbox_charges WHERE status = 'succeeded'),
                    (SELECT coalesce(sum(amount_minor), 0)::bigint FROM sandbox_charges WHERE status = 'succeeded'),
                    (SELECT count(*) FROM sandbox_refunds)",
            &[],
        )
        .await
        .expect("totals");
    let (paid, paid_amount, charges, charged_amount, refunds): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(paid, 270, "every buyer with a good card paid");
    assert_eq!(charges, paid, "one charge per paid order");
    assert_eq!(charged_amount, paid_amount);
    assert_eq!(refunds, 0);
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        270
    );
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 300);
}

async fn payment_state(pipeline: &Pipeline, order_id: Uuid) -> String {
    let db = pipeline.orders_db().await;
    db.query_one(
        "SELECT state FROM payments WHERE order_id = $1 ORDER BY created_at LIMIT 1",
        &[&order_id],
    )
    .await
    .expect("a payment")
    .get(0)
}

#[tokio::test]
async fn a_payment_whose_answer_and_webhook_were_lost_is_settled_by_the_recovery_sweep() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.payments.charge_timeout = Duration::from_millis(300);
        config.payments.sandbox_slow_delay = Duration::from_millis(800);
        config.payments.pending_recovery_after = Duration::from_secs(1);
        // Nothing listens there: every webhook is lost.
        config.payments.webhook_url = Some("http://127.0.0.1:1/v1/payments/webhook".to_owned());
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;

    let pending = pipeline.pay(&buyer, order_id, "slow", "tok_slow").await;

    assert_eq!(pending.status, 503, "{:?}", pending.body);
    assert!(
        eventually(Duration::from_secs(15), || async {
            order_state(&pipeline, order_id).await == "paid"
        })
        .await,
        "the sweep asked the provider and settled the payment"
    );
    assert_eq!(
        pipeline
            .pay(&buyer, order_id, "slow", "tok_slow")
            .await
            .status,
        200
    );
    assert_eq!(ledger(&pipeline).await, (1, 0));
}

#[tokio::test]
async fn a_charge_arriving_after_its_attempt_was_given_up_is_refunded_and_blocks_nothing() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.payments.charge_timeout = Duration::from_millis(200);
        config.payments.sandbox_slow_delay = Duration::from_millis(2_000);
        config.payments.pending_recovery_after = Duration::from_millis(500);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let (_, order_id) = pipeline.reserve(&buyer, event.event_id, tier_id, 1).await;

    assert_eq!(
        pipeline
            .pay(&buyer, order_id, "slow", "tok_slow")
            .await
            .status,
        503
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            payment_state(&pipeline, order_id).await == "failed"
        })
        .await,
        "the provider had no charge yet: the attempt failed"
    );
    let failed = pipeline.pay(&buyer, order_id, "slow", "tok_slow").await;
    assert_eq!(failed.status, 503, "{:?}", failed.body);
    assert!(
        eventually(Duration::from_secs(10), || async {
            payment_state(&pipeline, order_id).await == "refunded"
        })
        .await,
        "the late charge's webhook led to its refund"
    );
    assert_eq!(ledger(&pipeline).await, (0, 1));
    assert_eq!(order_state(&pipeline, order_id).await, "reserved");

    let paid = pipeline.pay(&buyer, order_id, "again", "tok_visa").await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(ledger(&pipeline).await, (1, 1));
}

#[tokio::test]
async fn a_cancelled_event_refunds_every_paid_order_releases_every_hold_and_stops_sales() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let payer = pipeline.buyer(Uuid::now_v7());
    let holder = pipeline.buyer(Uuid::now_v7());
    let (paid_purchase, paid_order) = pipeline.reserve(&payer, event.event_id, tier_id, 2).await;
    assert_eq!(
        pipeline
            .pay(&payer, paid_order, "k", "tok_visa")
            .await
            .status,
        200
    );
    let (_, held_order) = pipeline.reserve(&holder, event.event_id, tier_id, 1).await;

    pipeline
        .announce(contracts::events::EventCancelledV1 {
            event_id: event.event_id,
            organiser_id: event.organiser_id,
            cancelled_at: OffsetDateTime::now_utc(),
        })
        .await;

    assert!(
        eventually(Duration::from_secs(15), || async {
            order_state(&pipeline, paid_order).await == "refunded"
                && order_state(&pipeline, held_order).await == "cancelled"
        })
        .await,
        "every order of the event ended"
    );
    assert_eq!(ledger(&pipeline).await, (0, 1));
    assert_eq!(
        places_in_state(&pipeline, event.event_id, "available").await,
        10
    );
    let late = pipeline
        .purchase(
            0,
            &holder,
            "after",
            &crate::helpers::tier_body(event.event_id, tier_id, 1),
        )
        .await;
    assert_eq!(late.status, 403, "{:?}", late.body);
    assert_eq!(late.body["code"], "sales-closed");
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline
                .status(&payer, &paid_purchase.to_string())
                .await
                .body["status"]
                == "refunded"
        })
        .await
    );
    let again = pipeline.pay(&holder, held_order, "k2", "tok_visa").await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(ledger(&pipeline).await, (0, 1));
}
