//! Running a consumer: a bounded prefetch, a handler per message with bounded concurrency,
//! ack only after the handler succeeded, and a clear path for failures:
//! a transient failure is requeued (and counts against the queue's delivery limit), a
//! permanent one (a poison message) is rejected straight to the dead-letter queue.
//! The consumer comes back by itself after the connection is remade, and on shutdown it stops
//! taking messages and lets the ones in hand finish.

use std::sync::Arc;

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
/// (at most `max_batch`) and answers one outcome per delivery, in order. Each delivery is
/// settled after the handler returned, so a batch committed in one transaction is acked only
/// after its commit.
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
    deliveries
        .for_each_concurrent(spec.concurrent_batches.max(1), |batch| async move {
            let ackers: Vec<Acker> = batch
                .iter()
                .map(|delivery| delivery.acker.clone())
                .collect();
            let outcomes = handler(batch).await;
            for (acker, outcome) in ackers.iter().zip(outcomes) {
                settle(acker, outcome).await;
            }
        })
        .await;
    Ok(())
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
