//! The S3 helper against the local Garage store.

use common::{s3::ObjectStore, test_support::TestContext};

#[tokio::test]
async fn an_object_round_trips_through_the_store() {
    let context = TestContext::new();
    let store = ObjectStore::new(&context.s3());
    store.ensure_bucket().await.expect("bucket created");
    store
        .ensure_bucket()
        .await
        .expect("creating it again is harmless");
    let body = b"%PDF-1.7 a ticket".to_vec();

    store
        .put("events/e1/tickets/t1.pdf", "application/pdf", body.clone())
        .await
        .expect("stored");
    let fetched = store
        .get("events/e1/tickets/t1.pdf")
        .await
        .expect("fetched");
    store
        .delete("events/e1/tickets/t1.pdf")
        .await
        .expect("deleted");

    assert_eq!(fetched, body);
    assert!(store.get("events/e1/tickets/t1.pdf").await.is_err());
    store.check().await.expect("the bucket is reachable");
}
