//! Where each purchase stands, as client-service knows it: a record per purchase (`queued` at
//! intake, then whatever order-service's events say), and a hub that pushes every change to
//! the watchers connected to this instance. A buyer's records are the fields of one Redis
//! hash, `rank|view` under the purchase id: Redis holds a key per buyer, not per purchase, and
//! only the buyer's own requests can find them.
//!
//! Whichever instance consumes an order event writes the record; the same script publishes
//! the new view on a Redis channel every instance listens to, so a watcher learns the change
//! wherever it is connected, without anyone polling Postgres.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use anyhow::Context;
use common::redis::RedisStore;
use contracts::purchases::PurchaseView;
use futures::StreamExt;
use redis::{AsyncCommands, Script};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a buyer's statuses are kept after the last change of any of them (the whole hash
/// is renewed: Redis 7.0 has no expiry per field).
pub const RECORD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const RESUBSCRIBE_BACKOFF: Duration = Duration::from_millis(500);

// KEYS: the records hash of each change; ARGV: ttl channel, then each change's purchase and
// record (a record is `rank|view`, `encode_record`), in the order of KEYS.
// Statuses only move forward, so a late or redelivered event cannot bring back an old one.
// A change is published only for a record that existed: a watcher must read the record
// before it streams, so nobody can be waiting on a new one (intake writes one per request).
// The update names its purchase first, so that a listener reads a view only if it is watched.
static ADVANCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local advanced = 0
for i, records in ipairs(KEYS) do
  local purchase, record = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local stored = redis.call('HGET', records, purchase)
  local rank = stored and tonumber(string.match(stored, '^(%d+)|')) or -1
  local new_rank, view = string.match(record, '^(%d+)|(.*)$')
  if tonumber(new_rank) > rank then
    redis.call('HSET', records, purchase, record)
    redis.call('EXPIRE', records, ARGV[1])
    if rank >= 0 then redis.call('PUBLISH', ARGV[2], purchase .. ' ' .. view) end
    advanced = advanced + 1
  end
end
return advanced
",
    )
});

/// Changes per script call: enough to spare Redis a script call per purchase, few enough
/// that one call does not hold up the admissions behind it.
const CHANGES_PER_CALL: usize = 64;

/// The hash of the buyer's purchase statuses.
pub fn records_key(redis: &RedisStore, buyer_id: Uuid) -> String {
    redis.key(&format!("purchases:{buyer_id}"))
}

/// A record as stored: the status' rank, then the view.
pub fn encode_record(view: &PurchaseView) -> anyhow::Result<String> {
    Ok(format!(
        "{}|{}",
        view.status.rank(),
        serde_json::to_string(view)?
    ))
}

/// The pub/sub channel every instance's listener reads status updates from.
pub fn updates_channel(redis: &RedisStore) -> String {
    redis.key("purchase-updates")
}

/// Stores each view as its purchase's status unless it already has this status or a later
/// one; in one round trip, in order (two changes of one purchase in a batch apply in order).
pub async fn record_all(redis: &RedisStore, views: &[(Uuid, PurchaseView)]) -> anyhow::Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    let channel = updates_channel(redis);
    let mut pipeline = redis::pipe();
    // Loading first costs little and spares a NOSCRIPT round after a Redis restart.
    pipeline.load_script(&ADVANCE).ignore();
    for chunk in views.chunks(CHANGES_PER_CALL) {
        let mut invocation = ADVANCE.prepare_invoke();
        invocation.arg(RECORD_TTL.as_secs()).arg(&channel);
        for (buyer_id, view) in chunk {
            invocation
                .key(records_key(redis, *buyer_id))
                .arg(view.purchase_id.to_string())
                .arg(encode_record(view)?);
        }
        pipeline.invoke_script(&invocation).ignore();
    }
    let () = pipeline.query_async(&mut redis.connection()).await?;
    Ok(())
}

/// The status of the buyer's purchase, if the buyer made it.
pub async fn read(
    redis: &RedisStore,
    buyer_id: Uuid,
    purchase_id: Uuid,
) -> anyhow::Result<Option<PurchaseView>> {
    let record: Option<String> = redis
        .connection()
        .hget(records_key(redis, buyer_id), purchase_id.to_string())
        .await?;
    let Some(record) = record else {
        return Ok(None);
    };
    let (_rank, view) = record
        .split_once('|')
        .with_context(|| format!("purchase record without a rank: {record:?}"))?;
    Ok(Some(serde_json::from_str(view)?))
}

type Watchers = Arc<Mutex<HashMap<Uuid, broadcast::Sender<PurchaseView>>>>;

/// The watchers of this instance, fed from the Redis channel. Cheap to clone.
#[derive(Clone)]
pub struct PurchaseUpdates {
    watchers: Watchers,
}

impl PurchaseUpdates {
    /// Subscribes (and resubscribes after a drop) until `shutdown`.
    pub fn start(redis: RedisStore, shutdown: CancellationToken) -> Self {
        let watchers: Watchers = Arc::default();
        tokio::spawn(listen(redis, watchers.clone(), shutdown));
        Self { watchers }
    }

    /// Every later change of `purchase_id`'s status.
    pub fn watch(&self, purchase_id: Uuid) -> broadcast::Receiver<PurchaseView> {
        let mut watchers = lock(&self.watchers);
        watchers.retain(|_, sender| sender.receiver_count() > 0);
        watchers
            .entry(purchase_id)
            .or_insert_with(|| broadcast::channel(8).0)
            .subscribe()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn listen(redis: RedisStore, watchers: Watchers, shutdown: CancellationToken) {
    let channel = updates_channel(&redis);
    while !shutdown.is_cancelled() {
        let subscribed = async {
            let mut pubsub = redis.pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(pubsub) => {
                let messages = pubsub.into_on_message().take_until(shutdown.cancelled());
                let mut messages = std::pin::pin!(messages);
                while let Some(message) = messages.next().await {
                    dispatch(&watchers, message.get_payload_bytes());
                }
            }
            Err(error) => tracing::warn!(%error, "cannot subscribe to purchase updates"),
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(RESUBSCRIBE_BACKOFF) => {}
        }
    }
}

/// Hands an update (`<purchase id> <view>`) to its purchase's watchers, if it has any: at a
/// drop nearly every purchase changes status with nobody watching it.
fn dispatch(watchers: &Watchers, update: &[u8]) {
    let Some((purchase_id, view)) = std::str::from_utf8(update)
        .ok()
        .and_then(|update| update.split_once(' '))
        .and_then(|(id, view)| Some((id.parse::<Uuid>().ok()?, view)))
    else {
        tracing::warn!("unreadable purchase update");
        return;
    };
    let Some(sender) = lock(watchers).get(&purchase_id).cloned() else {
        return;
    };
    match serde_json::from_str::<PurchaseView>(view) {
        // No receiver left only means the watcher went away.
        Ok(view) => {
            let _ = sender.send(view);
        }
        Err(error) => tracing::warn!(%error, %purchase_id, "unreadable purchase update"),
    }
}
