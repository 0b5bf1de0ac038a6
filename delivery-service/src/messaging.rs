//! The broker side of delivery-service: the order and ticket events buyers are told of.

use common::amqp::{
    BatchConsumerSpec, Broker, ExchangeRole, HandlerError, QueueSpec, Topology, decode,
    handle_together, spawn_batch_consumer,
};
use contracts::{
    Envelope, Message,
    orders::OrderRefundedV1,
    purchases::{OrderExpiredV1, PurchasesDecidedV1},
    tickets::TicketsIssuedV1,
};
use lapin::message::Delivery;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::flows::{
    Deps,
    notify::{self, Arrival, Incoming},
};

const NOTICES_QUEUE: &str = "delivery.notices";

pub fn with_queues(topology: Topology) -> Topology {
    topology.with_queue(
        QueueSpec::new(NOTICES_QUEUE)
            .bind(ExchangeRole::Events, PurchasesDecidedV1::TYPE)
            .bind(ExchangeRole::Events, OrderExpiredV1::TYPE)
            .bind(ExchangeRole::Events, OrderRefundedV1::TYPE)
            .bind(ExchangeRole::Events, TicketsIssuedV1::TYPE),
    )
}

/// Most messages handled at once (their notices are written in chunks, at the service's pace).
const MAX_BATCH: usize = 100;

pub fn spawn_consumers(
    deps: &Deps,
    broker: &Broker,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    let deps = deps.clone();
    let prefetch_count = deps.delivery.prefetch_count;
    let stopping = shutdown.clone();
    spawn_batch_consumer(
        broker.clone(),
        BatchConsumerSpec {
            queue: NOTICES_QUEUE.to_owned(),
            prefetch_count,
            max_batch: MAX_BATCH,
            concurrent_batches: 1,
        },
        move |deliveries| {
            let (deps, stopping) = (deps.clone(), stopping.clone());
            async move { handle(&deps, &deliveries, &stopping).await }
        },
        shutdown.clone(),
    )
}

fn payload<P: DeserializeOwned>(delivery: &Delivery) -> Result<P, HandlerError> {
    decode::<P>(delivery).map(|envelope: Envelope<P>| envelope.payload)
}

/// What the message tells buyers of: one arrival per order it is about.
fn arrivals(delivery: &Delivery) -> Result<Vec<Arrival>, HandlerError> {
    let incoming = match delivery.routing_key.as_str() {
        PurchasesDecidedV1::TYPE => return decisions(decode(delivery)?),
        OrderExpiredV1::TYPE => Incoming::Expired(payload(delivery)?),
        OrderRefundedV1::TYPE => Incoming::Refunded(payload(delivery)?),
        TicketsIssuedV1::TYPE => Incoming::Tickets(payload(delivery)?),
        other => {
            return Err(HandlerError::Permanent(anyhow::anyhow!(
                "unexpected message {other}"
            )));
        }
    };
    let source = serde_json::from_slice(&delivery.data)
        .map_err(|error| HandlerError::Permanent(anyhow::Error::new(error)))?;
    Ok(vec![Arrival { incoming, source }])
}

/// Each order of a batch's decisions, with as its source the message narrowed to that order
/// (what is dead-lettered should its notice fail: the batch's other orders are not part of it).
fn decisions(envelope: Envelope<PurchasesDecidedV1>) -> Result<Vec<Arrival>, HandlerError> {
    let decided = &envelope.payload;
    let narrowed = |reserved, rejected| {
        serde_json::to_value(Envelope {
            id: envelope.id,
            message_type: envelope.message_type.clone(),
            version: envelope.version,
            occurred_at: envelope.occurred_at,
            correlation_id: envelope.correlation_id,
            payload: PurchasesDecidedV1 {
                event_id: decided.event_id,
                reserved,
                rejected,
            },
        })
        .map_err(|error| HandlerError::Permanent(anyhow::Error::new(error)))
    };
    let mut arrivals = Vec::with_capacity(decided.reserved.len() + decided.rejected.len());
    for order in &decided.reserved {
        arrivals.push(Arrival {
            incoming: Incoming::Reserved(order.clone()),
            source: narrowed(vec![order.clone()], Vec::new())?,
        });
    }
    for order in &decided.rejected {
        arrivals.push(Arrival {
            incoming: Incoming::Rejected(order.clone()),
            source: narrowed(Vec::new(), vec![order.clone()])?,
        });
    }
    Ok(arrivals)
}

/// A malformed message is refused alone; the rest are written together, and retried together
/// should that fail.
async fn handle(
    deps: &Deps,
    deliveries: &[Delivery],
    shutdown: &CancellationToken,
) -> Vec<Result<(), HandlerError>> {
    handle_together(deliveries, arrivals, |arrivals| async move {
        let arrivals: Vec<Arrival> = arrivals.into_iter().flatten().collect();
        notify::record_paced(deps, &arrivals, shutdown).await
    })
    .await
}
