//! The broker side of order-service: the queues it reads and the consumers that hand each
//! message to a flow. Purchase requests are consumed in batches grouped by event; event
//! updates one at a time.

use std::collections::HashMap;

use common::amqp::{
    BatchConsumerSpec, Broker, ConsumerSpec, ExchangeRole, HandlerError, QueueSpec, Topology,
    decode, spawn_batch_consumer, spawn_consumer,
};
use contracts::{
    Message,
    events::{EventCancelledV1, EventPublishedV1, EventRepricedV1},
    purchases::{PurchaseRequestedV1, PurchasesRequestedV1, shard_routing_key},
    tickets::TicketsIssuedV1,
};
use lapin::message::Delivery;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::flows::{Deps, cancellations, inventory, orders, reservations};

const EVENT_UPDATES_QUEUE: &str = "order.event-updates";
const TICKETS_QUEUE: &str = "order.tickets-issued";

fn purchase_queue(shard: u16) -> String {
    format!("order.purchases.{shard}")
}

/// The queues of order-service: one per purchase shard, and the catalog updates it needs.
pub fn with_queues(topology: Topology, purchase_shards: u16) -> Topology {
    let mut topology = topology.with_queue(
        QueueSpec::new(EVENT_UPDATES_QUEUE)
            .bind(ExchangeRole::Events, EventPublishedV1::TYPE)
            .bind(ExchangeRole::Events, EventRepricedV1::TYPE)
            .bind(ExchangeRole::Events, EventCancelledV1::TYPE),
    );
    topology = topology.with_queue(
        QueueSpec::new(TICKETS_QUEUE).bind(ExchangeRole::Events, TicketsIssuedV1::TYPE),
    );
    for shard in 0..purchase_shards.max(1) {
        topology = topology.with_queue(
            QueueSpec::new(&purchase_queue(shard))
                .bind(ExchangeRole::Commands, &shard_routing_key(shard)),
        );
    }
    topology
}

/// Starts every consumer; they stop after `shutdown`.
pub fn spawn_consumers(
    deps: &Deps,
    broker: &Broker,
    purchase_shards: u16,
    shutdown: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut consumers = Vec::new();
    let updates = deps.clone();
    consumers.push(spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: EVENT_UPDATES_QUEUE.to_owned(),
            // One at a time, in order: a reprice must not overtake its event's publish.
            prefetch_count: 1,
        },
        move |delivery| {
            let deps = updates.clone();
            async move { handle_event_update(&deps, &delivery).await }
        },
        shutdown.clone(),
    ));
    let ticketed = deps.clone();
    consumers.push(spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: TICKETS_QUEUE.to_owned(),
            prefetch_count: 64,
        },
        move |delivery| {
            let deps = ticketed.clone();
            async move {
                let issued = decode::<TicketsIssuedV1>(&delivery)?;
                orders::mark_ticketed(&deps, issued.payload.order_id)
                    .await
                    .map_err(HandlerError::Transient)
            }
        },
        shutdown.clone(),
    ));
    for shard in 0..purchase_shards.max(1) {
        let deps = deps.clone();
        let config = &deps.reservations;
        let spec = BatchConsumerSpec {
            queue: purchase_queue(shard),
            prefetch_count: config.prefetch_count,
            max_batch: config.max_batch,
            concurrent_batches: config.concurrent_batches,
        };
        consumers.push(spawn_batch_consumer(
            broker.clone(),
            spec,
            move |deliveries| {
                let deps = deps.clone();
                async move { handle_purchase_batch(&deps, deliveries).await }
            },
            shutdown.clone(),
        ));
    }
    consumers
}

async fn handle_event_update(deps: &Deps, delivery: &Delivery) -> Result<(), HandlerError> {
    let routing_key = delivery.routing_key.as_str();
    let outcome = if routing_key == EventPublishedV1::TYPE {
        inventory::apply_published(deps, &decode(delivery)?).await
    } else if routing_key == EventRepricedV1::TYPE {
        inventory::apply_repriced(deps, &decode(delivery)?).await
    } else if routing_key == EventCancelledV1::TYPE {
        cancellations::cancel_event(deps, &decode(delivery)?).await
    } else {
        return Err(HandlerError::Permanent(anyhow::anyhow!(
            "unexpected message {routing_key}"
        )));
    };
    outcome.map_err(HandlerError::Transient)
}

/// Unreadable messages are dead-lettered one by one; the requests of the rest are reserved per
/// event, each event in its own transaction, and a message shares the outcome of every event
/// it asked for.
async fn handle_purchase_batch(
    deps: &Deps,
    deliveries: Vec<Delivery>,
) -> Vec<Result<(), HandlerError>> {
    let mut outcomes: Vec<Result<(), HandlerError>> = Vec::with_capacity(deliveries.len());
    let mut by_event: HashMap<Uuid, (Vec<usize>, Vec<PurchaseRequestedV1>)> = HashMap::new();
    for (index, delivery) in deliveries.iter().enumerate() {
        match decode::<PurchasesRequestedV1>(delivery) {
            Ok(message) => {
                for request in message.payload.requests {
                    let (indexes, requests) = by_event.entry(request.event_id).or_default();
                    indexes.push(index);
                    requests.push(request);
                }
                outcomes.push(Ok(()));
            }
            Err(error) => outcomes.push(Err(error)),
        }
    }
    for (event_id, (indexes, requests)) in by_event {
        if let Err(error) = reservations::reserve_batch(deps, event_id, &requests).await {
            let error = format!("{error:#}");
            tracing::warn!(%event_id, error, "reservation batch failed");
            for index in indexes {
                outcomes[index] = Err(HandlerError::Transient(anyhow::anyhow!("{error}")));
            }
        }
    }
    outcomes
}
