//! Orders given back: by their buyer, or all of an event its organiser cancelled. A reserved
//! order's hold ends (`order.cancelled`); a paid order is refunded in full and its places go
//! back on sale (`order.refunded`, which makes ticket-service revoke its tickets). Places,
//! counters and the outbox change in one transaction, with the counter lock shared as every
//! place change takes it.

use common::amqp::{ExchangeRole, outbox};
use contracts::{
    Envelope,
    events::EventCancelledV1,
    orders::{OrderState, OrderView, RefundReason},
    purchases::OrderCancelledV1,
};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::{Deps, OrderError, counters, holds, orders as order_views, payments as payment_flows};
use crate::{
    domain::payment::PaymentState,
    storage::{
        inventory,
        orders::{self, EndedHold, OrderRecord},
        payments,
    },
};

/// Orders ended per transaction when a whole event is cancelled.
const EVENT_CANCELLATION_BATCH: i64 = 100;

/// `POST /v1/orders/{id}/cancel` by its buyer.
pub async fn cancel(deps: &Deps, order_id: Uuid, buyer_id: Uuid) -> Result<OrderView, OrderError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let order = orders::lock_order(&transaction, order_id, Some(buyer_id))
        .await?
        .ok_or(OrderError::NotFound)?;
    inventory::lock_counters(&transaction, order.event_id, false).await?;
    let ended = match order.state {
        OrderState::Reserved | OrderState::Paid | OrderState::Ticketed => {
            end_order(deps, &transaction, &order, RefundReason::Cancelled).await?
        }
        state @ (OrderState::Rejected
        | OrderState::Expired
        | OrderState::Cancelled
        | OrderState::Refunded) => return Err(OrderError::WrongState(state)),
    };
    holds::give_back(deps, &ended).await?;
    transaction.commit().await?;
    deps.outbox.wake();
    order_views::order(deps, order_id, buyer_id).await
}

/// `event.cancelled`: sales stop at once (the event's terms close, under the exclusive counter
/// lock, so no reservation in flight commits under the old ones), then every order still
/// holding or owning places is released or refunded, a batch per transaction. A redelivery
/// finds the orders already ended and does only what is left.
pub async fn cancel_event(deps: &Deps, message: &Envelope<EventCancelledV1>) -> anyhow::Result<()> {
    let event_id = message.payload.event_id;
    {
        let mut client = deps.database.pool().get().await?;
        let transaction = client.transaction().await?;
        inventory::lock_counters(&transaction, event_id, true).await?;
        if !inventory::mark_cancelled(&transaction, event_id, message.payload.cancelled_at).await? {
            anyhow::bail!("event {event_id} has no inventory yet");
        }
        transaction.commit().await?;
    }
    counters::rebuild(deps, event_id).await?;
    let mut ended_orders = 0;
    loop {
        let mut client = deps.database.pool().get().await?;
        let transaction = client.transaction().await?;
        inventory::lock_counters(&transaction, event_id, false).await?;
        let live =
            orders::lock_live_orders_of_event(&transaction, event_id, EVENT_CANCELLATION_BATCH)
                .await?;
        if live.is_empty() {
            break;
        }
        let mut ended = Vec::new();
        for order in &live {
            ended.extend(end_order(deps, &transaction, order, RefundReason::EventCancelled).await?);
        }
        holds::give_back(deps, &ended).await?;
        transaction.commit().await?;
        deps.outbox.wake();
        ended_orders += live.len();
    }
    tracing::info!(%event_id, ended_orders, "event cancelled");
    Ok(())
}

/// Ends one locked order that holds or owns places: a hold is released (`order.cancelled`),
/// a paid order refunded in full (`order.refunded` with `reason`). Returns what to give back
/// to the counters.
async fn end_order(
    deps: &Deps,
    client: &impl GenericClient,
    order: &OrderRecord,
    reason: RefundReason,
) -> Result<Vec<EndedHold>, OrderError> {
    let order_id = order.order_id;
    if order.state == OrderState::Reserved {
        let ended = orders::release_orders(
            client,
            &[order_id],
            &[OrderState::Reserved],
            OrderState::Cancelled,
        )
        .await?;
        for hold in &ended {
            let envelope = Envelope::new(hold.purchase_id, OrderCancelledV1(holds::released(hold)));
            outbox::enqueue(client, ExchangeRole::Events, &envelope).await?;
        }
        return Ok(ended);
    }
    let payment = payments::live_payment_of(client, order_id)
        .await?
        .filter(|payment| payment.state == PaymentState::Succeeded)
        .ok_or_else(|| anyhow::anyhow!("paid order {order_id} has no succeeded payment"))?;
    let charge_id = payment
        .charge_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("succeeded payment without a charge"))?;
    let refund_id = payment_flows::refund_charge(deps, &payment, &charge_id).await?;
    payment_flows::record_refund(client, &payment, &charge_id, &refund_id, reason).await?;
    let ended = orders::release_orders(
        client,
        &[order_id],
        &[OrderState::Paid, OrderState::Ticketed],
        OrderState::Refunded,
    )
    .await?;
    payment_flows::enqueue_refunded(client, order, &payment, reason).await?;
    Ok(ended)
}
