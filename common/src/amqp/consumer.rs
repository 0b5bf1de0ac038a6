//! Running a consumer: a bounded prefetch, a handler per message with bounded concurrency,
//! ack only after the handler succeeded, and a clear path for failures:
//! a transient failure is requeued (and counts against the queue's delivery limit), a
//! permanent one (a poison message) is rejected straight to the dead-letter queue.
//! The consumer comes back by itself after the connection is remade, and on shutdown it stops
//! taking messages and lets the ones in hand finish.

use std::{collections::BTreeMap, sync::Arc};

use futures::{StreamExt, future::BoxFuture};
use lapin::{
    Acker,
    message::Delivery,
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::broker::Broker;
use contracts::Envelope;

/// Why a handler could not process a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The message can never be processed (unreadable, unknown version): dead-letter it now.
    #[error("permanent failure: {0:#}")]
    Permanent(anyhow::Error),
    /// Something it depends on failed (database down, deadlock): deliver it again later.
    #[error("transient failure: {0:#}")]
    Transient(anyhow::Error),
}

/// Reads a delivery's body as an envelope of `P`; an unreadable body is permanent.
pub fn decode<P: DeserializeOwned>(delivery: &Delivery) -> Result<Envelope<P>, HandlerError> {
    serde_json::from_slice(&delivery.data)
        .map_err(|error| HandlerError::Permanent(anyhow::Error::new(error).context("decoding")))
}

/// The outcomes of a batch handled as one: a message `read` cannot make sense of fails alone
/// (as `read` says); the others are handed to `handle` together and share its outcome (a
/// failure is transient: they are delivered again together).
pub async fn handle_together<T, Fut>(
    deliveries: &[Delivery],
    read: impl Fn(&Delivery) -> Result<T, HandlerError>,
    handle: impl FnOnce(Vec<T>) -> Fut,
) -> Vec<Result<(), HandlerError>>
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut outcomes = Vec::with_capacity(deliveries.len());
    let mut readable = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        match read(delivery) {
            Ok(item) => {
                readable.push(item);
                outcomes.push(Ok(()));
            }
            Err(error) => outcomes.push(Err(error)),
        }
    }
    if let Err(error) = handle(readable).await {
        let error = format!("{error:#}");
        for outcome in outcomes.iter_mut().filter(|outcome| outcome.is_ok()) {
            *outcome = Err(HandlerError::Transient(anyhow::anyhow!("{error}")));
        }
    }
    outcomes
}

type BatchHandler =
    Arc<dyn Fn(Vec<Delivery>) -> BoxFuture<'static, Vec<Result<(), HandlerError>>> + Send + Sync>;

/// What a consumer needs to run.
pub struct ConsumerSpec {
    /// Short queue name, as in the topology (`order.purchase-requests`).
    pub queue: String,
    /// Unacked messages the broker may send ahead of time; also the handler concurrency.
    pub prefetch_count: u16,
}

/// What a batch consumer needs to run.
pub struct BatchConsumerSpec {
    pub queue: String,
    /// Unacked messages the broker may send ahead of time.
    pub prefetch_count: u16,
    /// Most deliveries handed to the handler at once; a batch is whatever has arrived, so a
    /// quiet queue gets batches of one without waiting.
    pub max_batch: usize,
    /// Batches handled at the same time.
    pub concurrent_batches: usize,
}

/// Starts consuming `spec.queue` one message per handler call; the task ends after
/// `shutdown`, once in-flight messages are handled and acked.
pub fn spawn_consumer<F, Fut>(
    broker: Broker,
    spec: ConsumerSpec,
    handler: F,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let batch_handler: BatchHandler = Arc::new(move |deliveries: Vec<Delivery>| {
        let handler = handler.clone();
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(deliveries.len());
            for delivery in deliveries {
                outcomes.push(handler(delivery).await);
            }
            outcomes
        })
    });
    let spec = BatchConsumerSpec {
        queue: spec.queue,
        prefetch_count: spec.prefetch_count,
        max_batch: 1,
        concurrent_batches: usize::from(spec.prefetch_count),
    };
    run(broker, spec, batch_handler, shutdown)
}

/// Starts consuming `spec.queue` in batches: the handler gets the deliveries that are ready
/// (at most `max_batch`) and answers one outcome per delivery, in order. Deliveries are
/// settled after the handler returned, so a batch committed in one transaction is acked only
/// after its commit: failures one by one, successes with one multiple ack once every older
/// batch is settled too.
pub fn spawn_batch_consumer<F, Fut>(
    broker: Broker,
    spec: BatchConsumerSpec,
    handler: F,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    F: Fn(Vec<Delivery>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
{
    let handler: BatchHandler = Arc::new(move |deliveries| Box::pin(handler(deliveries)));
    run(broker, spec, handler, shutdown)
}

fn run(
    broker: Broker,
    spec: BatchConsumerSpec,
    handler: BatchHandler,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let queue = broker.topology().queue(&spec.queue);
        while let Some(channel) = broker.consumer_channel(&shutdown).await {
            if let Err(error) = consume(&channel, &queue, &spec, &handler, &shutdown).await {
                tracing::warn!(%error, queue, "consumer interrupted; resuming after reconnect");
            }
            if shutdown.is_cancelled() {
                // Messages prefetched but not started go back to the queue with the channel.
                if let Err(error) = channel.close(200, "consumer stopping".into()).await {
                    tracing::debug!(%error, queue, "closing the consumer channel");
                }
                break;
            }
        }
        tracing::info!(queue, "consumer stopped");
    })
}

async fn consume(
    channel: &lapin::Channel,
    queue: &str,
    spec: &BatchConsumerSpec,
    handler: &BatchHandler,
    shutdown: &CancellationToken,
) -> lapin::Result<()> {
    channel
        .basic_qos(spec.prefetch_count, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue, prefetch = spec.prefetch_count, "consuming");
    let deliveries = consumer
        .take_until(shutdown.cancelled())
        .filter_map(|delivery| async move {
            delivery
                .inspect_err(|error| tracing::warn!(%error, queue, "delivery error"))
                .ok()
        })
        .ready_chunks(spec.max_batch.max(1));
    // A message handled alone is acked alone: a slow one must not hold the others' prefetch.
    let acks = AckWindow::default();
    let coalesce = spec.max_batch > 1;
    deliveries
        .for_each_concurrent(spec.concurrent_batches.max(1), |batch| {
            // Taken here, in delivery order, before the batch runs beside the others.
            let slot = coalesce.then(|| acks.open());
            let acks = &acks;
            async move {
                let ackers: Vec<Acker> = batch
                    .iter()
                    .map(|delivery| delivery.acker.clone())
                    .collect();
                let outcomes = handler(batch).await;
                if let Some(slot) = slot {
                    settle_batch(acks, slot, ackers, outcomes).await;
                } else {
                    for (acker, outcome) in ackers.iter().zip(outcomes) {
                        settle(acker, outcome).await;
                    }
                }
            }
        })
        .await;
    Ok(())
}

/// The batches in flight on one channel, in delivery order. Acking each message is a frame
/// and, on a quorum queue, a log entry; one multiple ack settles a whole batch. A multiple ack
/// also covers every older delivery, so a batch that finishes before an older one is left to
/// that one's ack.
#[derive(Default)]
struct AckWindow {
    batches: std::sync::Mutex<Batches>,
    /// Held from deciding an ack to sending it: acks leave in the order they were decided, so
    /// no multiple ack names a tag that a later one already covered.
    sending: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Batches {
    next: u64,
    /// By batch number, oldest first.
    states: BTreeMap<u64, BatchState>,
}

enum BatchState {
    Running,
    /// With the acker of its last successful delivery, if any succeeded.
    Finished(Option<Acker>),
}

impl AckWindow {
    /// Registers a batch; called in delivery order.
    fn open(&self) -> u64 {
        let mut batches = lock(&self.batches);
        let batch = batches.next;
        batches.next += 1;
        batches.states.insert(batch, BatchState::Running);
        batch
    }

    /// Marks `batch` finished; acks it and every finished batch after it once no older batch
    /// is still running.
    async fn finish(&self, batch: u64, last_success: Option<Acker>) {
        let _sending = self.sending.lock().await;
        let ack = {
            let mut batches = lock(&self.batches);
            batches
                .states
                .insert(batch, BatchState::Finished(last_success));
            let mut ack = None;
            while let Some(entry) = batches.states.first_entry() {
                if matches!(entry.get(), BatchState::Running) {
                    break;
                }
                if let BatchState::Finished(last) = entry.remove() {
                    ack = last.or(ack);
                }
            }
            ack
        };
        if let Some(acker) = ack
            && let Err(error) = acker.ack(BasicAckOptions { multiple: true }).await
        {
            // The channel is gone; the broker redelivers, and handlers are idempotent.
            tracing::warn!(%error, "cannot ack a batch");
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Failures are settled one by one at once (requeued or dead-lettered); the successes with
/// the window's multiple ack.
async fn settle_batch(
    acks: &AckWindow,
    batch: u64,
    ackers: Vec<Acker>,
    outcomes: Vec<Result<(), HandlerError>>,
) {
    let mut last_success = None;
    for (acker, outcome) in ackers.into_iter().zip(outcomes) {
        if outcome.is_ok() {
            last_success = Some(acker);
        } else {
            settle(&acker, outcome).await;
        }
    }
    acks.finish(batch, last_success).await;
}

async fn settle(acker: &Acker, outcome: Result<(), HandlerError>) {
    let settled = match outcome {
        Ok(()) => acker.ack(BasicAckOptions::default()).await,
        Err(HandlerError::Transient(error)) => {
            tracing::warn!(error = format!("{error:#}"), "message will be redelivered");
            acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
        Err(HandlerError::Permanent(error)) => {
            tracing::error!(error = format!("{error:#}"), "message dead-lettered");
            acker
                .nack(BasicNackOptions {
                    requeue: false,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    if let Err(error) = settled {
        // The channel is gone; the broker redelivers the message, and handlers are idempotent.
        tracing::warn!(%error, "cannot settle a delivery");
    }
}
