//! A buyer gives an order back: a reserved order's hold ends (`order.cancelled`); a paid
//! order is refunded in full and its places go back on sale (`order.refunded`, which makes
//! ticket-service revoke its tickets). Places, counters and the outbox change in one
//! transaction, with the counter lock shared as every place change takes it.

use common::amqp::{ExchangeRole, outbox};
use contracts::{
    Envelope,
    orders::{OrderState, OrderView, RefundReason},
    purchases::OrderCancelledV1,
};
use uuid::Uuid;

use super::{Deps, OrderError, holds, orders as order_views, payments as payment_flows};
use crate::{
    domain::payment::PaymentState,
    storage::{inventory, orders, payments},
};

/// `POST /v1/orders/{id}/cancel` by its buyer.
pub async fn cancel(deps: &Deps, order_id: Uuid, buyer_id: Uuid) -> Result<OrderView, OrderError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let order = orders::lock_order(&transaction, order_id, Some(buyer_id))
        .await?
        .ok_or(OrderError::NotFound)?;
    inventory::lock_counters(&transaction, order.event_id, false).await?;
    let ended = match order.state {
        OrderState::Reserved => {
            let ended = orders::release_orders(
                &transaction,
                &[order_id],
                &[OrderState::Reserved],
                OrderState::Cancelled,
            )
            .await?;
            for hold in &ended {
                let envelope =
                    Envelope::new(hold.purchase_id, OrderCancelledV1(holds::released(hold)));
                outbox::enqueue(&transaction, ExchangeRole::Events, &envelope).await?;
            }
            ended
        }
        OrderState::Paid | OrderState::Ticketed => {
            let payment = payments::live_payment_of(&transaction, order_id)
                .await?
                .filter(|payment| payment.state == PaymentState::Succeeded)
                .ok_or_else(|| anyhow::anyhow!("paid order {order_id} has no succeeded payment"))?;
            let charge_id = payment
                .charge_id
                .clone()
                .ok_or_else(|| anyhow::anyhow!("succeeded payment without a charge"))?;
            let reason = RefundReason::Cancelled;
            let refund_id = payment_flows::refund_charge(deps, &payment, &charge_id).await?;
            payment_flows::record_refund(&transaction, &payment, &charge_id, &refund_id, reason)
                .await?;
            let ended = orders::release_orders(
                &transaction,
                &[order_id],
                &[OrderState::Paid, OrderState::Ticketed],
                OrderState::Refunded,
            )
            .await?;
            payment_flows::enqueue_refunded(&transaction, &order, &payment, reason).await?;
            ended
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
