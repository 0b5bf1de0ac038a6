//! The broker side of ticket-service: paid orders get their tickets, refunded ones lose them.
//! Messages are handled concurrently; the flows serialise the two of one order with a lock
//! on the order.

use common::amqp::{
    Broker, ConsumerSpec, ExchangeRole, HandlerError, QueueSpec, Topology, decode, spawn_consumer,
};
use contracts::{
    Message,
    orders::{OrderPaidV1, OrderRefundedV1},
};
use lapin::message::Delivery;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::flows::{Deps, issuing, revocations};

const ORDERS_QUEUE: &str = "ticket.orders";

pub fn with_queues(topology: Topology) -> Topology {
    topology.with_queue(
        QueueSpec::new(ORDERS_QUEUE)
            .bind(ExchangeRole::Events, OrderPaidV1::TYPE)
            .bind(ExchangeRole::Events, OrderRefundedV1::TYPE),
    )
}

pub fn spawn_consumers(
    deps: &Deps,
    broker: &Broker,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    let deps = deps.clone();
    let prefetch_count = deps.tickets.prefetch_count;
    spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: ORDERS_QUEUE.to_owned(),
            prefetch_count,
        },
        move |delivery| {
            let deps = deps.clone();
            async move { handle(&deps, &delivery).await }
        },
        shutdown.clone(),
    )
}

async fn handle(deps: &Deps, delivery: &Delivery) -> Result<(), HandlerError> {
    match delivery.routing_key.as_str() {
        OrderPaidV1::TYPE => issuing::issue(deps, &decode(delivery)?)
            .await
            .map(|_| ())
            .map_err(HandlerError::Transient),
        OrderRefundedV1::TYPE => revocations::revoke(deps, &decode(delivery)?)
            .await
            .map_err(HandlerError::Transient),
        other => Err(HandlerError::Permanent(anyhow::anyhow!(
            "unexpected message {other}"
        ))),
    }
}
