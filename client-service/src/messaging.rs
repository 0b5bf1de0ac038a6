//! The broker side of client-service: order events update the purchase status records (and,
//! through them, every watcher's stream).

use common::amqp::{
    BatchConsumerSpec, Broker, ExchangeRole, HandlerError, QueueSpec, Topology, decode,
    handle_together, spawn_batch_consumer,
};
use contracts::{
    Message,
    orders::{OrderPaidV1, OrderRefundedV1},
    purchases::{
        OrderCancelledV1, OrderExpiredV1, OrderRejectedV1, OrderReleasedV1, OrderReservedV1,
        PurchaseStatus, PurchaseView,
    },
    tickets::TicketsIssuedV1,
};
use lapin::message::Delivery;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::flows::{Deps, status};

const STATUS_QUEUE: &str = "client.purchase-status";

pub fn with_queues(topology: Topology) -> Topology {
    topology.with_queue(
        QueueSpec::new(STATUS_QUEUE)
            .bind(ExchangeRole::Events, OrderReservedV1::TYPE)
            .bind(ExchangeRole::Events, OrderRejectedV1::TYPE)
            .bind(ExchangeRole::Events, OrderExpiredV1::TYPE)
            .bind(ExchangeRole::Events, OrderCancelledV1::TYPE)
            .bind(ExchangeRole::Events, OrderPaidV1::TYPE)
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
    spawn_batch_consumer(
        broker.clone(),
        BatchConsumerSpec {
            queue: STATUS_QUEUE.to_owned(),
            prefetch_count: 1_000,
            max_batch: 250,
            concurrent_batches: 2,
        },
        move |deliveries| {
            let deps = deps.clone();
            async move { apply(&deps, &deliveries).await }
        },
        shutdown.clone(),
    )
}

async fn apply(deps: &Deps, deliveries: &[Delivery]) -> Vec<Result<(), HandlerError>> {
    handle_together(deliveries, view_of, |views| async move {
        status::record_all(&deps.redis, &views).await
    })
    .await
}

/// The purchase's new status as the message tells it.
fn view_of(delivery: &Delivery) -> Result<(Uuid, PurchaseView), HandlerError> {
    let routing_key = delivery.routing_key.as_str();
    let view = PurchaseView::new;
    let released = |order: OrderReleasedV1, status| {
        (
            order.buyer_id,
            PurchaseView {
                order_id: Some(order.order_id),
                ..view(order.purchase_id, order.event_id, status)
            },
        )
    };
    Ok(match routing_key {
        OrderReservedV1::TYPE => {
            let order = decode::<OrderReservedV1>(delivery)?.payload;
            (
                order.buyer_id,
                PurchaseView {
                    order_id: Some(order.order_id),
                    seats: order.places,
                    amount_minor: Some(order.amount_minor),
                    currency: Some(order.currency),
                    hold_expires_at: Some(order.hold_expires_at),
                    ..view(order.purchase_id, order.event_id, PurchaseStatus::Reserved)
                },
            )
        }
        OrderRejectedV1::TYPE => {
            let order = decode::<OrderRejectedV1>(delivery)?.payload;
            (
                order.buyer_id,
                PurchaseView {
                    order_id: Some(order.order_id),
                    reason: Some(order.reason),
                    ..view(order.purchase_id, order.event_id, PurchaseStatus::Rejected)
                },
            )
        }
        OrderExpiredV1::TYPE => released(
            decode::<OrderExpiredV1>(delivery)?.payload.0,
            PurchaseStatus::Expired,
        ),
        OrderCancelledV1::TYPE => released(
            decode::<OrderCancelledV1>(delivery)?.payload.0,
            PurchaseStatus::Cancelled,
        ),
        OrderPaidV1::TYPE => {
            let order = decode::<OrderPaidV1>(delivery)?.payload;
            (
                order.buyer_id,
                PurchaseView {
                    order_id: Some(order.order_id),
                    seats: order.places,
                    amount_minor: Some(order.amount_minor),
                    currency: Some(order.currency),
                    ..view(order.purchase_id, order.event_id, PurchaseStatus::Paid)
                },
            )
        }
        OrderRefundedV1::TYPE => {
            let order = decode::<OrderRefundedV1>(delivery)?.payload;
            (
                order.buyer_id,
                PurchaseView {
                    order_id: Some(order.order_id),
                    amount_minor: Some(order.amount_minor),
                    currency: Some(order.currency),
                    ..view(order.purchase_id, order.event_id, PurchaseStatus::Refunded)
                },
            )
        }
        TicketsIssuedV1::TYPE => {
            let issued = decode::<TicketsIssuedV1>(delivery)?.payload;
            (
                issued.buyer_id,
                PurchaseView {
                    order_id: Some(issued.order_id),
                    ..view(
                        issued.purchase_id,
                        issued.event_id,
                        PurchaseStatus::Ticketed,
                    )
                },
            )
        }
        other => {
            return Err(HandlerError::Permanent(anyhow::anyhow!(
                "unexpected message {other}"
            )));
        }
    })
}
