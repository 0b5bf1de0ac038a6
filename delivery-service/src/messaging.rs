//! The broker side of delivery-service: the order and ticket events buyers are told of.

use common::amqp::{
    Broker, ConsumerSpec, ExchangeRole, HandlerError, QueueSpec, Topology, decode, spawn_consumer,
};
use contracts::{
    Envelope, Message,
    orders::OrderRefundedV1,
    purchases::{OrderExpiredV1, OrderRejectedV1, OrderReservedV1},
    tickets::TicketsIssuedV1,
};
use lapin::message::Delivery;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::flows::{
    Deps,
    notify::{self, Incoming},
};

const NOTICES_QUEUE: &str = "delivery.notices";

pub fn with_queues(topology: Topology) -> Topology {
    topology.with_queue(
        QueueSpec::new(NOTICES_QUEUE)
            .bind(ExchangeRole::Events, OrderReservedV1::TYPE)
            .bind(ExchangeRole::Events, OrderRejectedV1::TYPE)
            .bind(ExchangeRole::Events, OrderExpiredV1::TYPE)
            .bind(ExchangeRole::Events, OrderRefundedV1::TYPE)
            .bind(ExchangeRole::Events, TicketsIssuedV1::TYPE),
    )
}

pub fn spawn_consumers(
    deps: &Deps,
    broker: &Broker,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    let deps = deps.clone();
    let prefetch_count = deps.delivery.prefetch_count;
    spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: NOTICES_QUEUE.to_owned(),
            prefetch_count,
        },
        move |delivery| {
            let deps = deps.clone();
            async move { handle(&deps, &delivery).await }
        },
        shutdown.clone(),
    )
}

fn payload<P: DeserializeOwned>(delivery: &Delivery) -> Result<P, HandlerError> {
    decode::<P>(delivery).map(|envelope: Envelope<P>| envelope.payload)
}

async fn handle(deps: &Deps, delivery: &Delivery) -> Result<(), HandlerError> {
    let incoming = match delivery.routing_key.as_str() {
        OrderReservedV1::TYPE => Incoming::Reserved(payload(delivery)?),
        OrderRejectedV1::TYPE => Incoming::Rejected(payload(delivery)?),
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
    notify::record(deps, &incoming, source)
        .await
        .map(|_| ())
        .map_err(HandlerError::Transient)
}
