//! Queueing admitted purchases with a group commit: every admitted request of this instance
//! goes through one `PurchaseQueue`, which publishes the requests that have gathered as one
//! `purchases.requested` message per purchase queue shard, and answers each request with its
//! message's confirm.
//!
//! At most `PUBLISHES_IN_FLIGHT` messages await their confirms at once; requests arriving
//! meanwhile make up the next message. A request alone is published at once, and at a drop
//! the broker's work per purchase shrinks as the load grows (one message, one confirm, one
//! delivery for many purchases), which is where the intake's CPU went.
//!
//! A request is answered only with its own message's confirm: nothing is reported queued
//! that the broker has not confirmed. Before the answers go out, the confirmed requests'
//! `Idempotency-Key` claims are recorded `accepted`, in one Redis script per message.

use std::{collections::HashMap, sync::Arc, time::Instant};

use common::{
    amqp::{Broker, ExchangeRole, PublishError},
    redis::RedisStore,
};
use contracts::{
    Envelope,
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, purchase_shard, shard_routing_key},
};
use futures::future::join_all;
use prometheus_client::{
    metrics::histogram::{Histogram, exponential_buckets},
    registry::Registry,
};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::idempotency;

/// Messages awaiting their confirms at once. Two keep a drop's confirms flowing while the
/// next message gathers: with four, a message carried 4.2 requests on average and the broker
/// did 6,800 publishes, deliveries and acks per 28,500 purchases; with two, 7-8 requests and
/// ~4,000, for 0.2 ms more waiting per request (measured at 5,000 requests/s).
const PUBLISHES_IN_FLIGHT: usize = 2;
/// Most requests in one message.
const MAX_REQUESTS_PER_MESSAGE: usize = 500;
/// Requests waiting for a message; the intake's own in-flight bound keeps it from filling.
const WAITING_CAPACITY: usize = 4_096;

/// Why a request was not confirmed as queued.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct QueueError {
    reason: String,
    /// The message went out and no answer came: it may be in its queue all the same.
    may_have_been_queued: bool,
}

impl QueueError {
    pub fn may_have_been_queued(&self) -> bool {
        self.may_have_been_queued
    }

    fn from_publish(error: &PublishError) -> Self {
        Self {
            reason: error.to_string(),
            may_have_been_queued: error.may_have_been_queued(),
        }
    }
}

struct Waiting {
    request: PurchaseRequestedV1,
    idempotency_key: String,
    confirmed: oneshot::Sender<Result<(), QueueError>>,
    since: Instant,
}

/// What the group commit does, for operators: how full its messages are and where a
/// request's time goes (waiting for a message, then for its confirm).
#[derive(Clone)]
struct QueueMetrics {
    requests_per_message: Histogram,
    wait_seconds: Histogram,
    confirm_seconds: Histogram,
}

impl QueueMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests_per_message: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            wait_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            confirm_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
        };
        registry.register(
            "purchase_queue_requests_per_message",
            "Purchase requests carried by one purchases.requested message",
            metrics.requests_per_message.clone(),
        );
        registry.register(
            "purchase_queue_wait_seconds",
            "Time an admitted request waited for its message to be published",
            metrics.wait_seconds.clone(),
        );
        registry.register(
            "purchase_queue_confirm_seconds",
            "Time from publishing a purchases.requested message to the broker's confirm",
            metrics.confirm_seconds.clone(),
        );
        metrics
    }
}

/// The way into the purchase queues; cheap to clone.
#[derive(Clone)]
pub struct PurchaseQueue {
    waiting: mpsc::Sender<Waiting>,
}

impl PurchaseQueue {
    /// Starts the publisher, with its metrics in `registry`; it ends when the last clone is
    /// dropped.
    pub fn start(broker: Broker, redis: RedisStore, shards: u16, registry: &mut Registry) -> Self {
        let (waiting, receiver) = mpsc::channel(WAITING_CAPACITY);
        let metrics = QueueMetrics::register(registry);
        let publisher = Publisher {
            broker,
            redis,
            shards,
            metrics,
        };
        tokio::spawn(publish_gathered(publisher, receiver));
        Self { waiting }
    }

    /// Queues `request`, admitted under the buyer's `idempotency_key`; `Ok` once the broker
    /// confirmed the message that carries it.
    pub async fn queue(
        &self,
        request: PurchaseRequestedV1,
        idempotency_key: &str,
    ) -> Result<(), QueueError> {
        let (confirmed, confirmation) = oneshot::channel();
        let not_queued = |reason: &str| QueueError {
            reason: reason.to_owned(),
            may_have_been_queued: false,
        };
        self.waiting
            .send(Waiting {
                request,
                idempotency_key: idempotency_key.to_owned(),
                confirmed,
                since: Instant::now(),
            })
            .await
            .map_err(|_| not_queued("the purchase publisher has stopped"))?;
        // A publisher gone after taking the request may have published it.
        confirmation.await.unwrap_or_else(|_| {
            Err(QueueError {
                reason: "the purchase publisher stopped before the confirm".to_owned(),
                may_have_been_queued: true,
            })
        })
    }
}

/// What publishes the gathered requests.
#[derive(Clone)]
struct Publisher {
    broker: Broker,
    redis: RedisStore,
    shards: u16,
    metrics: QueueMetrics,
}

/// Takes what has gathered whenever a publish slot is free, and publishes it.
async fn publish_gathered(publisher: Publisher, mut receiver: mpsc::Receiver<Waiting>) {
    let slots = Arc::new(Semaphore::new(PUBLISHES_IN_FLIGHT));
    while let Some(first) = receiver.recv().await {
        // Waiting for a slot is what lets the next message gather.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut gathered = vec![first];
        while gathered.len() < MAX_REQUESTS_PER_MESSAGE {
            match receiver.try_recv() {
                Ok(next) => gathered.push(next),
                Err(_) => break,
            }
        }
        let publisher = publisher.clone();
        tokio::spawn(async move {
            publisher.publish_by_shard(gathered).await;
            drop(slot);
        });
    }
}

impl Publisher {
    /// One message per shard, published at once; each request answered with its message's
    /// fate.
    async fn publish_by_shard(&self, gathered: Vec<Waiting>) {
        let mut by_shard: HashMap<u16, Vec<Waiting>> = HashMap::new();
        for waiting in gathered {
            self.metrics
                .wait_seconds
                .observe(waiting.since.elapsed().as_secs_f64());
            let shard = purchase_shard(waiting.request.event_id, self.shards);
            by_shard.entry(shard).or_default().push(waiting);
        }
        join_all(
            by_shard
                .into_iter()
                .map(|(shard, group)| self.publish(shard, group)),
        )
        .await;
    }

    async fn publish(&self, shard: u16, group: Vec<Waiting>) {
        let mut requests = Vec::with_capacity(group.len());
        let mut claims = Vec::with_capacity(group.len());
        let mut answers = Vec::with_capacity(group.len());
        for waiting in group {
            claims.push((waiting.request.buyer_id, waiting.idempotency_key));
            requests.push(waiting.request);
            answers.push(waiting.confirmed);
        }
        self.metrics
            .requests_per_message
            .observe(requests.len() as f64);
        let envelope = Envelope::new(Uuid::now_v7(), PurchasesRequestedV1 { requests });
        let publishing = Instant::now();
        let outcome = self
            .broker
            .publish_envelope(ExchangeRole::Commands, &shard_routing_key(shard), &envelope)
            .await
            .map_err(|error| QueueError::from_publish(&error));
        self.metrics
            .confirm_seconds
            .observe(publishing.elapsed().as_secs_f64());
        if outcome.is_ok()
            && let Err(error) = idempotency::mark_accepted(&self.redis, &claims).await
        {
            // The purchases are queued all the same; a repeat finding its key still
            // `admitted` publishes the purchase again, which changes nothing.
            tracing::warn!(
                error = format!("{error:#}"),
                "keys of a confirmed message not marked accepted"
            );
        }
        for answer in answers {
            // A request whose handler has gone (client disconnected) needs no answer.
            let _ = answer.send(outcome.clone());
        }
    }
}
