//! Live availability: places left per tier, read from the Redis counters order-service keeps,
//! and pushed to watchers as they change.
//!
//! Watchers of one event share one poller per process: it reads the counters once per
//! interval and publishes a snapshot only when something changed, through a `watch` channel
//! that keeps just the latest. 10,000 buyers watching a drop therefore cost one Redis read per
//! interval and never more than one message per interval each.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{availability::read_remaining, redis::RedisStore};
use contracts::events::{Availability, Event, TierAvailability};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Deps, EventError, inventory::OrderInventory};

/// Places left per tier: the Redis counters; without them (not built yet, or lost in a flush)
/// order-service's own numbers; and until order-service has the event, its full capacity.
pub async fn availability(deps: &Deps, event_id: Uuid) -> Result<Availability, EventError> {
    let event = super::events::event(deps, None, event_id).await?;
    snapshot(&deps.redis, &deps.orders, &event).await
}

async fn snapshot(
    redis: &RedisStore,
    orders: &OrderInventory,
    event: &Event,
) -> Result<Availability, EventError> {
    let counters = match read_remaining(redis, event.id)
        .await
        .map_err(anyhow::Error::from)?
    {
        Some(counters) => counters,
        None => match orders.fetch(event.id).await {
            Ok(inventory) => inventory
                .map(|inventory| {
                    inventory
                        .tiers
                        .iter()
                        .map(|tier| (tier.tier_id, i64::try_from(tier.available).unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default(),
            Err(error) => {
                tracing::warn!(event_id = %event.id, error = format!("{error:#}"), "no availability from order-service");
                HashMap::new()
            }
        },
    };
    Ok(Availability {
        event_id: event.id,
        tiers: event
            .tiers
            .iter()
            .map(|tier| TierAvailability {
                tier_id: tier.id,
                // A counter may dip below zero for a moment while a refused request gives
                // its places back; nobody is shown a negative number.
                remaining: counters
                    .get(&tier.id)
                    .map_or(tier.capacity, |left| u64::try_from(*left).unwrap_or(0)),
                capacity: tier.capacity,
            })
            .collect(),
        updated_at: OffsetDateTime::now_utc(),
    })
}

type Watchers = Arc<Mutex<HashMap<Uuid, Arc<watch::Sender<Availability>>>>>;

/// One shared poller per watched event.
#[derive(Clone)]
pub struct AvailabilityHub {
    redis: RedisStore,
    orders: OrderInventory,
    interval: Duration,
    shutdown: CancellationToken,
    watchers: Watchers,
}

impl AvailabilityHub {
    pub fn new(
        redis: RedisStore,
        orders: OrderInventory,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            redis,
            orders,
            interval,
            shutdown,
            watchers: Arc::default(),
        }
    }

    /// Ends every stream when the service stops, so that graceful shutdown is not held open.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// A receiver that always holds the latest snapshot of `event`.
    pub async fn watch(&self, event: Event) -> Result<watch::Receiver<Availability>, EventError> {
        if let Some(sender) = lock(&self.watchers).get(&event.id) {
            return Ok(sender.subscribe());
        }
        let first = snapshot(&self.redis, &self.orders, &event).await?;
        let mut watchers = lock(&self.watchers);
        // Another request may have started the poller while we read the counters.
        if let Some(sender) = watchers.get(&event.id) {
            return Ok(sender.subscribe());
        }
        let sender = Arc::new(watch::Sender::new(first));
        let receiver = sender.subscribe();
        watchers.insert(event.id, Arc::clone(&sender));
        tokio::spawn(self.clone().poll(event, sender));
        Ok(receiver)
    }

    async fn poll(self, event: Event, sender: Arc<watch::Sender<Availability>>) {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                () = tokio::time::sleep(self.interval) => {}
            }
            {
                let mut watchers = lock(&self.watchers);
                if sender.receiver_count() == 0 {
                    watchers.remove(&event.id);
                    break;
                }
            }
            match snapshot(&self.redis, &self.orders, &event).await {
                Ok(next) => {
                    sender.send_if_modified(|current| {
                        let changed = current.tiers != next.tiers;
                        if changed {
                            *current = next;
                        }
                        changed
                    });
                }
                Err(error) => {
                    tracing::warn!(event_id = %event.id, ?error, "cannot read availability")
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
