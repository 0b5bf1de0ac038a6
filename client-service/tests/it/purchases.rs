//! The purchase path end to end, against real Postgres, Redis and RabbitMQ: intake in
//! client-service, the queue, reservation in order-service, and the statuses coming back.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{
    availability::{EventKeys, unix_ms},
    config::Secret,
    test_support::eventually,
};
use contracts::purchases::purchase_routing_key;
use futures::{StreamExt, stream};
use redis::AsyncCommands;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{
    Pipeline, accepted_id, event_on_sale, one_way_broker_link, seated_tier, spawn_pipeline,
    spawn_pipeline_with, standing_tier, tier_body,
};

/// Fires `attempts` (buyer, quantity) purchase requests at once over every gateway; returns
/// the accepted purchase ids and how many answers had each status.
async fn storm(
    pipeline: &Pipeline,
    event_id: Uuid,
    tier_id: Uuid,
    attempts: &[(Uuid, u32)],
) -> (Vec<Uuid>, HashMap<u16, usize>) {
    let tokens: HashMap<Uuid, String> = attempts
        .iter()
        .map(|(buyer, _)| (*buyer, pipeline.buyer(*buyer)))
        .collect();
    let answers: Vec<_> = stream::iter(attempts.iter().enumerate())
        .map(|(index, (buyer, quantity))| {
            let token = &tokens[buyer];
            let body = tier_body(event_id, tier_id, *quantity);
            async move {
                pipeline
                    .purchase(index, token, &Uuid::now_v7().to_string(), &body)
                    .await
            }
        })
        .buffer_unordered(128)
        .collect()
        .await;
    let mut statuses = HashMap::new();
    let mut accepted = Vec::new();
    for answer in &answers {
        *statuses.entry(answer.status).or_default() += 1;
        if answer.status == 202 {
            accepted.push(accepted_id(answer));
        }
    }
    (accepted, statuses)
}

#[tokio::test]
async fn two_thousand_attempts_on_two_instances_each_sell_exactly_the_500_places() {
    let pipeline = spawn_pipeline_with(2, 2, |_| {}).await;
    let (event, tier_id) = pipeline.standing_event(500, 8).await;
    let buyers: Vec<Uuid> = (0..300).map(|_| Uuid::now_v7()).collect();
    let attempts: Vec<(Uuid, u32)> = (0..2_000)
        .map(|index| (buyers[index % buyers.len()], (index % 4 + 1) as u32))
        .collect();

    let (accepted, statuses) = storm(&pipeline, event.event_id, tier_id, &attempts).await;

    assert!(
        statuses
            .keys()
            .all(|status| [202, 409, 429].contains(status)),
        "{statuses:?}"
    );
    pipeline.wait_until_decided(&accepted).await;
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 500);
    let db = pipeline.orders_db().await;
    let reserved: i64 = db
        .query_one(
            "SELECT coalesce(sum(quantity), 0) FROM orders WHERE state = 'reserved'",
            &[],
        )
        .await
        .expect("sum")
        .get(0);
    assert_eq!(reserved, 500);
    let over_limit: i64 = db
        .query_one(
            "SELECT count(*) FROM (SELECT buyer_id FROM orders WHERE state = 'reserved'
             GROUP BY buyer_id HAVING sum(quantity) > 8) b",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(over_limit, 0, "a buyer passed the per-buyer limit");
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (0, 0)
        })
        .await,
        "the Redis counter equals Postgres: {:?}",
        pipeline.counter_and_truth(event.event_id, tier_id).await
    );
}

#[tokio::test]
async fn fifty_buyers_racing_for_one_seat_leave_exactly_one_holding_it() {
    let pipeline = spawn_pipeline().await;
    let tier = seated_tier(10);
    let seat = tier.seat_ids[3];
    let event = event_on_sale(4, vec![tier]);
    pipeline.publish(&event).await;

    let answers: Vec<_> = stream::iter(0..50)
        .map(|_| {
            let token = pipeline.buyer(Uuid::now_v7());
            let body = json!({"event_id": event.event_id, "seat_ids": [seat]});
            let pipeline = &pipeline;
            async move {
                let answer = pipeline
                    .purchase(0, &token, &Uuid::now_v7().to_string(), &body)
                    .await;
                (token, answer)
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;

    let accepted: Vec<(String, Uuid)> = answers
        .iter()
        .filter(|(_, answer)| answer.status == 202)
        .map(|(token, answer)| (token.clone(), accepted_id(answer)))
        .collect();
    assert!(
        answers
            .iter()
            .all(|(_, answer)| [202, 409].contains(&answer.status))
    );
    let ids: Vec<Uuid> = accepted.iter().map(|(_, id)| *id).collect();
    pipeline.wait_until_decided(&ids).await;
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 1);
    let mut reserved = 0;
    for (token, id) in &accepted {
        let status = pipeline.decided(token, *id).await;
        if status["status"] == "reserved" {
            reserved += 1;
            assert_eq!(status["seats"][0]["place_id"], json!(seat));
        } else {
            assert_eq!(status["status"], "rejected", "{status}");
            assert_eq!(status["reason"], "seat_taken", "{status}");
        }
    }
    assert_eq!(reserved, 1);
    let late = pipeline
        .purchase(
            0,
            &pipeline.buyer(Uuid::now_v7()),
            "late",
            &json!({"event_id": event.event_id, "seat_ids": [seat]}),
        )
        .await;
    assert_eq!(late.status, 409, "a held seat is refused at once");
    assert_eq!(late.body["code"], "seat-taken");
}

#[tokio::test]
async fn one_buyers_concurrent_purchases_stay_within_the_per_buyer_limit() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(100, 4).await;
    let buyer = Uuid::now_v7();
    let attempts: Vec<(Uuid, u32)> = (0..30).map(|_| (buyer, 1)).collect();

    let (accepted, statuses) = storm(&pipeline, event.event_id, tier_id, &attempts).await;

    assert_eq!(accepted.len(), 4, "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&26), "{statuses:?}");
    pipeline.wait_until_decided(&accepted).await;
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 4);
}

#[tokio::test]
async fn twenty_concurrent_repeats_of_one_key_make_one_purchase() {
    let pipeline = spawn_pipeline().await;
    let tier = standing_tier(100);
    let tier_id = tier.tier_id;
    let event = event_on_sale(10, vec![tier]);
    let body = tier_body(event.event_id, tier_id, 2);
    pipeline.publish(&event).await;
    let token = pipeline.buyer(Uuid::now_v7());

    let answers: Vec<_> = stream::iter(0..20)
        .map(|_| pipeline.purchase(0, &token, "the-same-key", &body))
        .buffer_unordered(20)
        .collect()
        .await;

    assert!(
        answers.iter().all(|answer| answer.status == 202),
        "{answers:?}"
    );
    let ids: std::collections::HashSet<Uuid> = answers.iter().map(accepted_id).collect();
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().expect("one id");
    pipeline.wait_until_decided(&[id]).await;
    assert_eq!(pipeline.assert_no_double_sale(event.event_id).await, 2);

    let other_body = tier_body(event.event_id, Uuid::now_v7(), 1);
    let reused = pipeline
        .purchase(0, &token, "the-same-key", &other_body)
        .await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["code"], "idempotency-key-reused");
}

#[tokio::test]
async fn an_expired_hold_returns_its_places_to_sale_and_to_the_counter() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.hold_duration = Duration::from_secs(1);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(2, 4).await;
    let first = pipeline.buyer(Uuid::now_v7());
    let second = pipeline.buyer(Uuid::now_v7());

    let taken = pipeline
        .purchase(0, &first, "k1", &tier_body(event.event_id, tier_id, 2))
        .await;
    assert_eq!(taken.status, 202);
    let sold_out = pipeline
        .purchase(0, &second, "k1", &tier_body(event.event_id, tier_id, 1))
        .await;
    assert_eq!(sold_out.status, 409, "{:?}", sold_out.body);
    assert_eq!(sold_out.body["code"], "sold-out");

    let purchase_id = accepted_id(&taken);
    let expired = eventually(Duration::from_secs(15), || async {
        pipeline.status(&first, &purchase_id.to_string()).await.body["status"] == "expired"
    })
    .await;
    assert!(expired, "the hold expired");
    assert!(
        eventually(Duration::from_secs(5), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (2, 2)
        })
        .await
    );
    let again = pipeline
        .purchase(0, &second, "k2", &tier_body(event.event_id, tier_id, 2))
        .await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    let status = pipeline.decided(&second, accepted_id(&again)).await;
    assert_eq!(status["status"], "reserved", "{status}");
}

#[tokio::test]
async fn a_redis_flush_mid_sale_is_reconciled_without_selling_anything_twice() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(300, 10).await;
    let buyers: Vec<Uuid> = (0..200).map(|_| Uuid::now_v7()).collect();
    let first_wave: Vec<(Uuid, u32)> = buyers.iter().take(100).map(|buyer| (*buyer, 2)).collect();
    let (mut accepted, _) = storm(&pipeline, event.event_id, tier_id, &first_wave).await;

    flush(&pipeline).await;
    let second_wave: Vec<(Uuid, u32)> = buyers.iter().map(|buyer| (*buyer, 2)).collect();
    let (more, statuses) = storm(&pipeline, event.event_id, tier_id, &second_wave).await;
    accepted.extend(more);
    // Right after the flush some requests find no counters: 503, never a sale.
    assert!(
        statuses
            .keys()
            .all(|status| [202, 409, 429, 503].contains(status)),
        "{statuses:?}"
    );
    let (late, _) = storm(&pipeline, event.event_id, tier_id, &second_wave).await;
    accepted.extend(late);

    pipeline.wait_until_decided(&accepted).await;
    let held = pipeline.assert_no_double_sale(event.event_id).await;
    assert!(held <= 300);
    assert!(
        eventually(Duration::from_secs(10), || async {
            let (counter, truth) = pipeline.counter_and_truth(event.event_id, tier_id).await;
            counter == truth
        })
        .await,
        "reconciliation brought the counter back to Postgres: {:?}",
        pipeline.counter_and_truth(event.event_id, tier_id).await
    );
}

#[tokio::test]
async fn a_seat_a_failed_step_left_marked_taken_is_on_sale_again_after_reconciliation() {
    let pipeline = spawn_pipeline().await;
    let tier = seated_tier(3);
    let (sold, left_behind) = (tier.seat_ids[0], tier.seat_ids[1]);
    let event = event_on_sale(4, vec![tier]);
    pipeline.publish(&event).await;
    let buyer = pipeline.buyer(Uuid::now_v7());
    let sold_body = json!({"event_id": event.event_id, "seat_ids": [sold]});
    let taken = pipeline.purchase(0, &buyer, "k1", &sold_body).await;
    assert_eq!(taken.status, 202);
    let held = pipeline.decided(&buyer, accepted_id(&taken)).await;
    assert_eq!(held["status"], "reserved", "{held}");
    // What a reservation that marked its seat taken and then failed to commit leaves behind.
    let redis = pipeline.redis();
    let keys = EventKeys::new(&redis, event.event_id);
    let () = redis
        .connection()
        .sadd(&keys.taken, left_behind.to_string())
        .await
        .expect("sadd");
    let body = json!({"event_id": event.event_id, "seat_ids": [left_behind]});
    let refused = pipeline.purchase(0, &buyer, "k2", &body).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);

    let mut attempt = 2;
    let on_sale_again = eventually(Duration::from_secs(10), || {
        attempt += 1;
        let (pipeline, buyer, body) = (&pipeline, &buyer, &body);
        let key = format!("k{attempt}");
        async move { pipeline.purchase(0, buyer, &key, body).await.status == 202 }
    })
    .await;

    assert!(
        on_sale_again,
        "the reconciler took the seat out of the taken set"
    );
    let taken: Vec<String> = redis
        .connection()
        .smembers(&keys.taken)
        .await
        .expect("smembers");
    assert!(
        taken.contains(&sold.to_string()),
        "the sold seat stays taken"
    );
}

/// Deletes every key of the test's Redis prefix: a flush, for this test only.
async fn flush(pipeline: &Pipeline) {
    let redis = pipeline.redis();
    let mut connection = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(redis.key("*"))
        .query_async(&mut connection)
        .await
        .expect("keys");
    let () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .expect("del");
}

#[tokio::test]
async fn bad_purchase_requests_get_clear_problems_and_change_nothing() {
    let pipeline = spawn_pipeline().await;
    let (mut event, tier_id) = pipeline.standing_event(10, 2).await;
    let token = pipeline.buyer(Uuid::now_v7());
    let gateway = &pipeline.gateways[0];
    let good = tier_body(event.event_id, tier_id, 1);

    let anonymous = gateway
        .client
        .post(gateway.url("/v1/purchases"))
        .header("Idempotency-Key", "k")
        .json(&good)
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), 401);

    let keyless = gateway
        .client
        .post(gateway.url("/v1/purchases"))
        .bearer_auth(&token)
        .json(&good)
        .send()
        .await
        .expect("answer");
    assert_eq!(keyless.status(), 400);
    assert_eq!(
        keyless.headers()["content-type"],
        "application/problem+json"
    );

    let invalid = pipeline
        .purchase(
            0,
            &token,
            "k1",
            &json!({"event_id": event.event_id, "quantity": 1}),
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert!(
        invalid.body["errors"]["tier_id"].is_string(),
        "{:?}",
        invalid.body
    );

    let unknown_tier = pipeline
        .purchase(
            0,
            &token,
            "k2",
            &tier_body(event.event_id, Uuid::now_v7(), 1),
        )
        .await;
    assert_eq!(unknown_tier.status, 422);

    let too_many = pipeline
        .purchase(0, &token, "k3", &tier_body(event.event_id, tier_id, 3))
        .await;
    assert_eq!(too_many.status, 429);
    assert_eq!(too_many.body["code"], "purchase-limit-exceeded");

    event.event_id = Uuid::now_v7();
    event.sales_open_at = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    for tier in &mut event.tiers {
        tier.tier_id = Uuid::now_v7();
        tier.areas[0].area_id = Uuid::now_v7();
    }
    pipeline.publish(&event).await;
    let early = pipeline
        .purchase(
            0,
            &token,
            "k4",
            &tier_body(event.event_id, event.tiers[0].tier_id, 1),
        )
        .await;
    assert_eq!(early.status, 425, "{:?}", early.body);
    assert_eq!(early.body["code"], "sales-not-open");
    assert!(early.retry_after.is_some(), "425 says when to come back");

    let db = pipeline.orders_db().await;
    let orders: i64 = db
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(orders, 0, "no refused request reached order-service");
    let (counter, truth) = pipeline
        .counter_and_truth(event.event_id, event.tiers[0].tier_id)
        .await;
    assert_eq!((counter, truth), (10, 10));
}

#[tokio::test]
async fn the_buyer_follows_a_purchase_by_status_and_stream_and_no_one_else_sees_it() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let token = pipeline.buyer(Uuid::now_v7());

    let accepted = pipeline
        .purchase(0, &token, "k", &tier_body(event.event_id, tier_id, 2))
        .await;
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.body["status"], "queued");
    let purchase_id = accepted_id(&accepted);

    let gateway = &pipeline.gateways[0];
    let stream = gateway
        .client
        .get(gateway.url(&format!("/v1/purchases/{purchase_id}/stream")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let mut text = String::new();
    let reserved = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("a chunk")));
            if text.contains("\"status\":\"reserved\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        reserved,
        Ok(true),
        "the stream pushed the reservation: {text}"
    );

    let status = pipeline.status(&token, &purchase_id.to_string()).await;
    assert_eq!(status.body["status"], "reserved");
    assert_eq!(status.body["seats"].as_array().map(Vec::len), Some(2));
    assert_eq!(status.body["amount_minor"], 9_000);
    assert!(status.body["hold_expires_at"].is_string());

    let stranger = pipeline.buyer(Uuid::now_v7());
    assert_eq!(
        pipeline
            .status(&stranger, &purchase_id.to_string())
            .await
            .status,
        404
    );

    let order_id = status.body["order_id"].as_str().expect("an order id");
    let cancel = gateway
        .client
        .post(gateway.url(&format!("/v1/orders/{order_id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(cancel.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.status(&token, &purchase_id.to_string()).await.body["status"] == "cancelled"
        })
        .await
    );
    assert_eq!(
        pipeline.counter_and_truth(event.event_id, tier_id).await,
        (10, 10)
    );
}

#[tokio::test]
async fn a_purchase_the_broker_cannot_take_is_a_503_that_gives_the_places_back() {
    let mut pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    pipeline
        .add_gateway(|config| {
            config.amqp.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f".to_owned());
        })
        .await;
    let token = pipeline.buyer(Uuid::now_v7());
    let body = tier_body(event.event_id, tier_id, 3);

    let refused = pipeline.purchase(1, &token, "retry-me", &body).await;

    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "unavailable");
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert_eq!(
        pipeline.counter_and_truth(event.event_id, tier_id).await,
        (10, 10),
        "the places went back"
    );
    let retried = pipeline.purchase(0, &token, "retry-me", &body).await;
    assert_eq!(retried.status, 202, "the key was free for the retry");
}

#[tokio::test]
async fn a_purchase_the_broker_did_not_confirm_is_queued_once_by_the_retry_with_its_key() {
    let mut pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    // Gateway 1 reaches the broker over a link that goes silent one way: its publishes arrive,
    // their confirms never come back. Gateway 2 takes an unconfirmed key over after 2 s (twice
    // its confirm timeout + 1 s).
    let silent = Arc::new(AtomicBool::new(false));
    let link = one_way_broker_link(pipeline.context.amqp().url.expose(), silent.clone()).await;
    pipeline
        .add_gateway(|config| {
            config.amqp.url = Secret::new(link);
            config.amqp.publish_confirm_timeout = Duration::from_millis(500);
        })
        .await;
    pipeline
        .add_gateway(|config| config.amqp.publish_confirm_timeout = Duration::from_millis(500))
        .await;
    silent.store(true, Ordering::SeqCst);
    let buyer_id = Uuid::now_v7();
    let token = pipeline.buyer(buyer_id);
    let body = tier_body(event.event_id, tier_id, 3);

    let unconfirmed = pipeline.purchase(1, &token, "k", &body).await;
    assert_eq!(unconfirmed.status, 503, "{:?}", unconfirmed.body);
    assert_eq!(unconfirmed.retry_after.as_deref(), Some("1"));
    let (counter, _) = pipeline.counter_and_truth(event.event_id, tier_id).await;
    assert_eq!(
        counter, 7,
        "the places stay taken: the message may be queued"
    );

    let retried = pipeline.purchase(2, &token, "k", &body).await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    let purchase_id = accepted_id(&retried);
    let repeated = pipeline.purchase(0, &token, "k", &body).await;
    assert_eq!(
        accepted_id(&repeated),
        purchase_id,
        "the key's answer is kept"
    );
    pipeline.wait_until_decided(&[purchase_id]).await;

    let orders = pipeline
        .orders_db()
        .await
        .query(
            "SELECT purchase_id, state, quantity FROM orders WHERE buyer_id = $1",
            &[&buyer_id],
        )
        .await
        .expect("orders");
    assert_eq!(
        orders.len(),
        1,
        "one order, whether or not the first publish arrived"
    );
    assert_eq!(orders[0].get::<_, Uuid>(0), purchase_id);
    assert_eq!(orders[0].get::<_, String>(1), "reserved");
    assert_eq!(orders[0].get::<_, i32>(2), 3);
    assert!(
        eventually(Duration::from_secs(5), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (7, 7)
        })
        .await
    );
}

#[tokio::test]
async fn an_admission_that_never_reached_order_service_gives_its_places_back() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.pending_timeout = Duration::from_secs(60);
        config.reservations.reconcile_interval = Duration::from_millis(500);
    })
    .await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    // What admission leaves behind for a purchase whose publish was never confirmed nor
    // retried: places taken from the counter, the purchase pending. One such admission is an
    // hour old, the other just made.
    let redis = pipeline.redis();
    let keys = EventKeys::new(&redis, event.event_id);
    let now = OffsetDateTime::now_utc();
    let entry = |places: i64, admitted_at: OffsetDateTime| {
        format!(
            "{}|{tier_id}:{places}|{}",
            Uuid::now_v7(),
            unix_ms(admitted_at)
        )
    };
    let () = redis::pipe()
        .hincr(&keys.remaining, tier_id.to_string(), -5)
        .hset(
            &keys.pending,
            Uuid::now_v7().to_string(),
            entry(3, now - time::Duration::HOUR),
        )
        .hset(&keys.pending, Uuid::now_v7().to_string(), entry(2, now))
        .query_async(&mut redis.connection())
        .await
        .expect("redis");

    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline.counter_and_truth(event.event_id, tier_id).await == (8, 10)
        })
        .await,
        "the abandoned admission's 3 places are back; the recent one's 2 stay out: {:?}",
        pipeline.counter_and_truth(event.event_id, tier_id).await
    );
    let pending: HashMap<String, String> = redis
        .connection()
        .hgetall(&keys.pending)
        .await
        .expect("redis");
    assert_eq!(pending.len(), 1, "only the recent admission is pending");
}

#[tokio::test]
async fn past_the_in_flight_limit_a_purchase_is_refused_at_once_and_changes_nothing() {
    let mut pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    pipeline
        .add_gateway(|config| config.purchase_max_in_flight = 0)
        .await;
    let token = pipeline.buyer(Uuid::now_v7());
    let body = tier_body(event.event_id, tier_id, 1);

    let shed = pipeline.purchase(1, &token, "k", &body).await;

    assert_eq!(shed.status, 503, "{:?}", shed.body);
    assert_eq!(shed.retry_after.as_deref(), Some("1"));
    assert_eq!(
        pipeline.counter_and_truth(event.event_id, tier_id).await,
        (10, 10)
    );
    let retried = pipeline.purchase(0, &token, "k", &body).await;
    assert_eq!(retried.status, 202, "the key was never claimed");
}

#[tokio::test]
async fn a_chosen_seat_is_refused_while_held_and_sold_again_after_its_hold_expires() {
    let pipeline = spawn_pipeline_with(1, 1, |config| {
        config.reservations.hold_duration = Duration::from_secs(1);
    })
    .await;
    let tier = seated_tier(3);
    let seat = tier.seat_ids[1];
    let event = event_on_sale(4, vec![tier]);
    pipeline.publish(&event).await;
    let body = json!({"event_id": event.event_id, "seat_ids": [seat]});
    let first = pipeline.buyer(Uuid::now_v7());
    let second = pipeline.buyer(Uuid::now_v7());

    let taken = pipeline.purchase(0, &first, "k1", &body).await;
    assert_eq!(taken.status, 202);
    let held = pipeline.decided(&first, accepted_id(&taken)).await;
    assert_eq!(held["status"], "reserved", "{held}");
    let refused = pipeline.purchase(0, &second, "k1", &body).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "seat-taken");

    let expired = eventually(Duration::from_secs(15), || async {
        pipeline
            .status(&first, &accepted_id(&taken).to_string())
            .await
            .body["status"]
            == "expired"
    })
    .await;
    assert!(expired);
    let again = pipeline.purchase(0, &second, "k2", &body).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    let status = pipeline.decided(&second, accepted_id(&again)).await;
    assert_eq!(status["status"], "reserved", "{status}");
}

#[tokio::test]
async fn events_on_different_purchase_queues_are_each_served() {
    let pipeline = spawn_pipeline().await;
    let shards = pipeline.context.amqp().purchase_queue_shards;
    assert!(
        shards > 1,
        "the test configuration spreads purchases over queues"
    );
    let (first, first_tier) = pipeline.standing_event(5, 4).await;
    let second = std::iter::repeat_with(|| event_on_sale(4, vec![standing_tier(5)]))
        .find(|event| {
            purchase_routing_key(event.event_id, shards)
                != purchase_routing_key(first.event_id, shards)
        })
        .expect("another queue");
    pipeline.publish(&second).await;
    let token = pipeline.buyer(Uuid::now_v7());

    for (event_id, tier_id) in [
        (first.event_id, first_tier),
        (second.event_id, second.tiers[0].tier_id),
    ] {
        let accepted = pipeline
            .purchase(
                0,
                &token,
                &event_id.to_string(),
                &tier_body(event_id, tier_id, 1),
            )
            .await;
        assert_eq!(accepted.status, 202);
        let status = pipeline.decided(&token, accepted_id(&accepted)).await;
        assert_eq!(status["status"], "reserved", "{status}");
    }
}

#[tokio::test]
async fn a_purchase_is_answered_503_and_changes_nothing_when_redis_cannot_be_reached() {
    let mut pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    pipeline
        .add_gateway(|config| config.redis.url = Secret::new("redis://127.0.0.1:1".to_owned()))
        .await;
    let token = pipeline.buyer(Uuid::now_v7());
    let body = tier_body(event.event_id, tier_id, 2);

    let unanswered = pipeline.purchase(1, &token, "k", &body).await;
    assert_eq!(unanswered.status, 503, "{:?}", unanswered.body);
    assert_eq!(unanswered.retry_after.as_deref(), Some("1"));
    assert_eq!(unanswered.body["type"], "/problems/unavailable");
    let (counter, truth) = pipeline.counter_and_truth(event.event_id, tier_id).await;
    assert_eq!((counter, truth), (10, 10), "nothing was taken");

    let retried = pipeline.purchase(0, &token, "k", &body).await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    pipeline.wait_until_decided(&[accepted_id(&retried)]).await;
    let (counter, truth) = pipeline.counter_and_truth(event.event_id, tier_id).await;
    assert_eq!((counter, truth), (8, 8));
}

/// Redis holds a buyer's request records in two keys, whatever the number of requests: a
/// keyspace growing per request makes Redis rehash it, every command paying, mid-drop.
#[tokio::test]
async fn a_buyers_requests_are_kept_in_two_redis_keys_however_many_they_make() {
    let pipeline = spawn_pipeline().await;
    let (event, tier_id) = pipeline.standing_event(10, 4).await;
    let buyer = Uuid::now_v7();
    let token = pipeline.buyer(buyer);
    let mut purchase_ids = Vec::new();
    for key in ["a", "b", "c"] {
        let accepted = pipeline
            .purchase(0, &token, key, &tier_body(event.event_id, tier_id, 1))
            .await;
        assert_eq!(accepted.status, 202, "{:?}", accepted.body);
        purchase_ids.push(accepted_id(&accepted));
    }
    let over_limit = pipeline
        .purchase(0, &token, "d", &tier_body(event.event_id, tier_id, 2))
        .await;
    assert_eq!(over_limit.status, 429);
    let repeat = pipeline
        .purchase(0, &token, "a", &tier_body(event.event_id, tier_id, 1))
        .await;
    assert_eq!(accepted_id(&repeat), purchase_ids[0]);
    let refusal_repeated = pipeline
        .purchase(0, &token, "d", &tier_body(event.event_id, tier_id, 2))
        .await;
    assert_eq!(refusal_repeated.status, 429);

    let redis = pipeline.redis();
    let mut connection = redis.connection();
    let mut keys: Vec<String> = connection
        .keys(redis.key(&format!("*{buyer}*")))
        .await
        .expect("keys");
    keys.sort();
    let (claims, records) = (
        redis.key(&format!("claims:{buyer}")),
        redis.key(&format!("purchases:{buyer}")),
    );
    assert_eq!(keys, [claims.clone(), records.clone()]);
    let claimed: usize = connection.hlen(&claims).await.expect("hlen");
    let recorded: usize = connection.hlen(&records).await.expect("hlen");
    assert_eq!(
        (claimed, recorded),
        (4, 3),
        "four keys claimed, three purchases"
    );
    // A confirm arriving for a key that was withdrawn meanwhile writes nothing.
    let marked = client_service::flows::idempotency::mark_accepted(&redis, &[(buyer, "withdrawn")])
        .await
        .expect("mark");
    assert_eq!(marked, 0);
    let claimed: usize = connection.hlen(&claims).await.expect("hlen");
    assert_eq!(claimed, 4);
    let claims_ttl: i64 = connection.ttl(&claims).await.expect("ttl");
    let records_ttl: i64 = connection.ttl(&records).await.expect("ttl");
    assert!(
        (23 * 3600..=24 * 3600).contains(&claims_ttl),
        "{claims_ttl}"
    );
    assert!(
        (6 * 24 * 3600..=7 * 24 * 3600).contains(&records_ttl),
        "{records_ttl}"
    );

    for purchase_id in &purchase_ids {
        let status = pipeline.status(&token, &purchase_id.to_string()).await;
        assert_eq!(status.status, 200);
        assert_eq!(status.body["purchase_id"], purchase_id.to_string());
    }
}
