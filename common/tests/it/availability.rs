//! The Redis counters' reconciliation, against the real Redis.

use common::{
    availability::{EventKeys, SalesTerms, Truth, reconcile},
    redis::RedisStore,
    test_support::TestContext,
};
use redis::AsyncCommands;
use time::OffsetDateTime;
use uuid::Uuid;

fn truth<'a>(tier: &'a [(Uuid, i64)], taken_seats: &'a [Uuid]) -> Truth<'a> {
    Truth {
        terms: SalesTerms {
            open_at: OffsetDateTime::now_utc(),
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

    reconcile(&redis, event_id, &truth(&tier, &before))
        .await
        .expect("reconciled");
    let first: usize = connection.scard(&keys.taken).await.expect("scard");
    reconcile(&redis, event_id, &truth(&tier, &after))
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

    reconcile(&redis, event_id, &truth(&tier, &[]))
        .await
        .expect("reconciled with nothing taken");
    let exists: bool = connection.exists(&keys.taken).await.expect("exists");
    assert!(!exists, "no seat taken: no set");
}
