//! The Redis counters' reconciliation, against the real Redis.

use common::{
    availability::{EventKeys, Reconciled, SalesTerms, TakenSeats, Truth, reconcile, unix_ms},
    redis::RedisStore,
    test_support::TestContext,
};
use redis::AsyncCommands;
use time::OffsetDateTime;
use uuid::Uuid;

fn truth<'a>(tier: &'a [(Uuid, i64)], taken_seats: TakenSeats<'a>) -> Truth<'a> {
    Truth {
        terms: SalesTerms {
            open_at: OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("a time"),
            close_at: None,
            per_buyer_limit: 4,
        },
        available: tier,
        held: &[],
        taken_seats,
    }
}

#[tokio::test]
async fn a_reconciliation_replaces_a_large_venues_taken_seats_whole_and_leaves_nothing_staged() {
    let context = TestContext::new();
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let event_id = Uuid::now_v7();
    let tier = [(Uuid::now_v7(), 10)];
    let before: Vec<Uuid> = (0..2_500).map(|_| Uuid::now_v7()).collect();
    let after: Vec<Uuid> = before[1_000..].to_vec();
    let keys = EventKeys::new(&redis, event_id);
    let mut connection = redis.connection();

    reconcile(
        &redis,
        event_id,
        &truth(&tier, TakenSeats::Rewritten(&before)),
    )
    .await
    .expect("reconciled");
    let first: usize = connection.scard(&keys.taken).await.expect("scard");
    reconcile(
        &redis,
        event_id,
        &truth(&tier, TakenSeats::Rewritten(&after)),
    )
    .await
    .expect("reconciled again");

    assert_eq!(first, 2_500, "every taken seat, across staging chunks");
    let taken: Vec<String> = connection.smembers(&keys.taken).await.expect("members");
    let mut expected: Vec<String> = after.iter().map(Uuid::to_string).collect();
    let mut taken = taken;
    taken.sort_unstable();
    expected.sort_unstable();
    assert_eq!(taken, expected, "seats no longer taken are gone");
    let ttl: i64 = connection.ttl(&keys.taken).await.expect("ttl");
    assert_eq!(ttl, -1, "the swapped-in set does not expire");
    let staged: Vec<String> = connection
        .keys(format!("{}:staged:*", keys.taken))
        .await
        .expect("keys");
    assert!(staged.is_empty(), "{staged:?}");

    reconcile(&redis, event_id, &truth(&tier, TakenSeats::Rewritten(&[])))
        .await
        .expect("reconciled with nothing taken");
    let exists: bool = connection.exists(&keys.taken).await.expect("exists");
    assert!(!exists, "no seat taken: no set");
}

#[tokio::test]
async fn a_set_of_the_right_size_is_kept_and_a_changed_one_stops_the_reconciliation() {
    let context = TestContext::new();
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let event_id = Uuid::now_v7();
    let tier_id = Uuid::now_v7();
    let seats: Vec<Uuid> = (0..1_500).map(|_| Uuid::now_v7()).collect();
    let keys = EventKeys::new(&redis, event_id);
    let mut connection = redis.connection();
    reconcile(
        &redis,
        event_id,
        &truth(&[(tier_id, 10)], TakenSeats::Rewritten(&seats)),
    )
    .await
    .expect("reconciled");

    reconcile(
        &redis,
        event_id,
        &truth(&[(tier_id, 7)], TakenSeats::Kept(1_500)),
    )
    .await
    .expect("reconciled, keeping the seats");
    let kept: usize = connection.scard(&keys.taken).await.expect("scard");
    let remaining: i64 = connection
        .hget(&keys.remaining, tier_id.to_string())
        .await
        .expect("hget");
    assert_eq!(
        (kept, remaining),
        (1_500, 7),
        "seats kept, counter rewritten"
    );

    let () = connection
        .sadd(&keys.taken, Uuid::now_v7().to_string())
        .await
        .expect("sadd");
    let refused = reconcile(
        &redis,
        event_id,
        &truth(&[(tier_id, 5)], TakenSeats::Kept(1_500)),
    )
    .await;
    let remaining: i64 = connection
        .hget(&keys.remaining, tier_id.to_string())
        .await
        .expect("hget");
    assert!(refused.is_err(), "a set of another size is not kept");
    assert_eq!(remaining, 7, "nothing was written");
}

#[tokio::test]
async fn counters_that_agree_with_postgres_are_left_alone_and_drifted_ones_rewritten() {
    let context = TestContext::new();
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let event_id = Uuid::now_v7();
    let (tier_id, buyer_id) = (Uuid::now_v7(), Uuid::now_v7());
    let tier = [(tier_id, 10)];
    let keys = EventKeys::new(&redis, event_id);
    let mut connection = redis.connection();
    let first = reconcile(&redis, event_id, &truth(&tier, TakenSeats::Rewritten(&[])))
        .await
        .expect("built");
    // What admitting 2 places to a buyer leaves: taken from the counter, pending, on the buyer.
    let () = redis::pipe()
        .hincr(&keys.remaining, tier_id.to_string(), -2)
        .hset(
            &keys.pending,
            Uuid::now_v7().to_string(),
            format!(
                "{buyer_id}|{tier_id}:2|{}",
                unix_ms(OffsetDateTime::now_utc())
            ),
        )
        .hincr(&keys.buyers, buyer_id.to_string(), 2)
        .query_async(&mut connection)
        .await
        .expect("admitted");

    let admitted = reconcile(&redis, event_id, &truth(&tier, TakenSeats::Kept(0)))
        .await
        .expect("reconciled");
    let () = connection
        .hincr(&keys.remaining, tier_id.to_string(), -1)
        .await
        .expect("drift");
    let drifted = reconcile(&redis, event_id, &truth(&tier, TakenSeats::Kept(0)))
        .await
        .expect("reconciled");

    assert_eq!(
        first,
        Reconciled::Rewritten,
        "nothing to agree with at first"
    );
    assert_eq!(
        admitted,
        Reconciled::Agreed,
        "pending places balance the counter"
    );
    assert_eq!(drifted, Reconciled::Rewritten, "a lost place is noticed");
    let remaining: i64 = connection
        .hget(&keys.remaining, tier_id.to_string())
        .await
        .expect("hget");
    let buyer: i64 = connection
        .hget(&keys.buyers, buyer_id.to_string())
        .await
        .expect("hget");
    assert_eq!((remaining, buyer), (8, 2), "10 on sale, 2 of them pending");
}
