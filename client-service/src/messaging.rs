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
        PurchaseStatus, PurchaseView, PurchasesDecidedV1,
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
            .bind(ExchangeRole::Events, PurchasesDecidedV1::TYPE)
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
    handle_together(deliveries, views_of, |views| async move {
        let views: Vec<(Uuid, PurchaseView)> = views.into_iter().flatten().collect();
        status::record_all(&deps.redis, &views).await
    })
    .await
}

/// The purchases' new statuses as the message tells them (with their buyers).
fn views_of(delivery: &Delivery) -> Result<Vec<(Uuid, PurchaseView)>, HandlerError> {
    if delivery.routing_key.as_str() == PurchasesDecidedV1::TYPE {
        let decided = decode::<PurchasesDecidedV1>(delivery)?.payload;
        let reserved = decided.reserved.into_iter().map(reserved_view);
        let rejected = decided.rejected.into_iter().map(rejected_view);
        return Ok(reserved.chain(rejected).collect());
    }
    view_of(delivery).map(|view| vec![view])
}

fn reserved_view(order: OrderReservedV1) -> (Uuid, PurchaseView) {
    (
        order.buyer_id,
        PurchaseView {
            order_id: Some(order.order_id),
            seats: order.places,
            amount_minor: Some(order.amount_minor),
            currency: Some(order.currency),
            hold_expires_at: Some(order.hold_expires_at),
            ..PurchaseView::new(order.purchase_id, order.event_id, PurchaseStatus::Reserved)
        },
    )
}

fn rejected_view(order: OrderRejectedV1) -> (Uuid, PurchaseView) {
    (
        order.buyer_id,
        PurchaseView {
            order_id: Some(order.order_id),
            reason: Some(order.reason),
            ..PurchaseView::new(order.purchase_id, order.event_id, PurchaseStatus::Rejected)
        },
    )
}

/// The purchase's new status as a message about one order tells it.
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
