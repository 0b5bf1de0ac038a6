//! Purchase status records and the updates their watchers get, against the real Redis.

use std::time::Duration;

use client_service::flows::status::{self, PurchaseUpdates};
use common::{redis::RedisStore, test_support::TestContext};
use contracts::purchases::{PurchaseStatus, PurchaseView};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Waits until this test's listener is subscribed, so that no update is published before.
async fn subscribed(redis: &RedisStore) {
    let channel = status::updates_channel(redis);
    for _ in 0..200 {
        let counts: Vec<(String, u64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut redis.connection())
            .await
            .expect("PUBSUB NUMSUB");
        if counts
            .first()
            .is_some_and(|(_, subscribers)| *subscribers > 0)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the listener never subscribed to {channel}");
}

#[tokio::test]
async fn a_batch_of_changes_moves_each_purchase_forward_in_order_and_reaches_its_watcher() {
    let context = TestContext::new();
    let redis = RedisStore::open(&context.redis()).expect("redis");
    let shutdown = CancellationToken::new();
    let updates = PurchaseUpdates::start(redis.clone(), shutdown.clone());
    let event_id = Uuid::now_v7();
    // More purchases than one script call takes, each of its own buyer.
    let purchases: Vec<(Uuid, Uuid)> = (0..150).map(|_| (Uuid::now_v7(), Uuid::now_v7())).collect();
    let views = |status| -> Vec<(Uuid, PurchaseView)> {
        purchases
            .iter()
            .map(|(buyer, purchase)| (*buyer, PurchaseView::new(*purchase, event_id, status)))
            .collect()
    };
    status::record_all(&redis, &views(PurchaseStatus::Queued))
        .await
        .expect("queued");
    let (watched_buyer, watched) = purchases[0];
    let (late_buyer, late) = purchases[1];
    let mut watcher = updates.watch(watched);
    subscribed(&redis).await;

    // One batch: every purchase reserved, the watched one then paid, the late one expired.
    let mut batch = views(PurchaseStatus::Reserved);
    batch.push((
        watched_buyer,
        PurchaseView::new(watched, event_id, PurchaseStatus::Paid),
    ));
    batch.push((
        late_buyer,
        PurchaseView::new(late, event_id, PurchaseStatus::Expired),
    ));
    status::record_all(&redis, &batch).await.expect("recorded");
    // A redelivered reservation after the expiry changes nothing.
    status::record_all(
        &redis,
        &[(
            late_buyer,
            PurchaseView::new(late, event_id, PurchaseStatus::Reserved),
        )],
    )
    .await
    .expect("recorded");

    let mut seen = Vec::new();
    for _ in 0..2 {
        let update = tokio::time::timeout(Duration::from_secs(5), watcher.recv())
            .await
            .expect("an update in time")
            .expect("an update");
        assert_eq!(update.purchase_id, watched);
        seen.push(update.status);
    }
    assert_eq!(seen, [PurchaseStatus::Reserved, PurchaseStatus::Paid]);
    for (index, (buyer, purchase)) in purchases.iter().enumerate() {
        let stored = status::read(&redis, *buyer, *purchase)
            .await
            .expect("read")
            .expect("a record");
        let expected = match index {
            0 => PurchaseStatus::Paid,
            1 => PurchaseStatus::Expired,
            _ => PurchaseStatus::Reserved,
        };
        assert_eq!(stored.status, expected, "purchase {index}");
    }
    assert!(
        status::read(&redis, late_buyer, watched)
            .await
            .expect("read")
            .is_none(),
        "a record is found only under its own buyer"
    );
    shutdown.cancel();
}
