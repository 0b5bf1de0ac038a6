//! Paying a hold exactly once.
//!
//! 1. With the order's row locked, the attempt is recorded as a pending payment: the caller's
//!    key is claimed (a repeat waits for the first answer), and a partial unique index allows
//!    one pending or succeeded payment per order, so a second charge is never even tried.
//! 2. The provider is asked to charge, with the payment id as its idempotency key and a
//!    timeout. A lost answer leaves the payment pending, never charged twice.
//! 3. The outcome, from the answer or from the provider's webhook, whichever comes first, is
//!    settled once: declined keeps the hold; succeeded on a live hold marks the order paid and
//!    its places sold and writes `order.paid` to the outbox, in one transaction. A success
//!    after the hold ended takes the places again if all are still free, and otherwise
//!    refunds the charge and writes `order.refunded`: money is never kept without seats.
//!
//! Payments still pending after a while (a crash, a lost webhook) are looked up at the
//! provider and settled the same way by a background sweep.

use std::time::Duration;

use axum::http::HeaderMap;
use common::amqp::{ExchangeRole, outbox};
use contracts::{
    Envelope,
    orders::{OrderPaidV1, OrderRefundedV1, OrderState, OrderView, RefundReason},
};
use deadpool_postgres::GenericClient;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Deps, OrderError, counters, orders as order_views};
use crate::{
    domain::payment::{NotPayable, PaymentState, check_payable},
    payments::{ChargeOutcome, ChargeRequest, RefundRequest},
    storage::{
        inventory,
        orders::{self, OrderRecord},
        payments::{self, NewPayment, PaymentChange, PaymentRecord},
    },
};

const SETTLED_POLL: Duration = Duration::from_millis(50);
const RECOVERY_BATCH: i64 = 100;

/// `POST /v1/orders/{id}/payment` for `buyer_id` with `idempotency_key`.
pub async fn pay(
    deps: &Deps,
    buyer_id: Uuid,
    order_id: Uuid,
    idempotency_key: &str,
    card_token: &str,
) -> Result<OrderView, OrderError> {
    let fingerprint = fingerprint(order_id, card_token);
    let attempt = match begin(deps, buyer_id, order_id, idempotency_key, &fingerprint).await? {
        Begun::New(attempt) => attempt,
        Begun::Repeat(payment_id) => {
            let payment = wait_until_settled(deps, payment_id).await?;
            return answer(deps, buyer_id, &payment).await;
        }
    };
    let charge = ChargeRequest {
        idempotency_key: attempt.payment_id.to_string(),
        amount_minor: attempt.amount_minor,
        currency: attempt.currency,
        card_token: card_token.to_owned(),
    };
    let charged =
        tokio::time::timeout(deps.payments.charge_timeout, deps.provider.charge(charge)).await;
    let outcome = match charged {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            tracing::warn!(payment_id = %attempt.payment_id, %error, "charge not answered");
            return Err(OrderError::PaymentPending);
        }
        Err(_) => {
            tracing::warn!(payment_id = %attempt.payment_id, "charge timed out");
            return Err(OrderError::PaymentPending);
        }
    };
    let payment = settle(deps, attempt.payment_id, outcome).await?;
    answer(deps, buyer_id, &payment).await
}

/// The identity of a payment request, for its idempotency key: the order and the card.
fn fingerprint(order_id: Uuid, card_token: &str) -> String {
    hex::encode(Sha256::digest(format!("{order_id}|{card_token}")))
}

struct Attempt {
    payment_id: Uuid,
    amount_minor: i64,
    currency: String,
}

enum Begun {
    New(Attempt),
    /// The key was used before for this same request.
    Repeat(Uuid),
}

/// Records a pending payment, or finds the one this key made.
async fn begin(
    deps: &Deps,
    buyer_id: Uuid,
    order_id: Uuid,
    idempotency_key: &str,
    fingerprint: &str,
) -> Result<Begun, OrderError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let order = orders::lock_order(&transaction, order_id, Some(buyer_id))
        .await?
        .ok_or(OrderError::NotFound)?;
    if let Some(existing) = payments::find_by_key(&transaction, buyer_id, idempotency_key).await? {
        if existing.order_id != order_id || existing.request_fingerprint != fingerprint {
            return Err(OrderError::KeyReused);
        }
        return Ok(Begun::Repeat(existing.payment_id));
    }
    check_payable(
        order.state,
        order.hold_expires_at,
        OffsetDateTime::now_utc(),
    )
    .map_err(|refusal| match refusal {
        NotPayable::HoldExpired => OrderError::HoldExpired,
        NotPayable::AlreadyPaid => OrderError::AlreadyPaid,
        NotPayable::Closed(state) => OrderError::WrongState(state),
    })?;
    if let Some(live) = payments::live_payment_of(&transaction, order_id).await? {
        return Err(match live.state {
            PaymentState::Pending => OrderError::PaymentInProgress,
            _ => OrderError::AlreadyPaid,
        });
    }
    let attempt = Attempt {
        payment_id: Uuid::now_v7(),
        amount_minor: order.amount_minor,
        currency: order.currency.clone().unwrap_or_default(),
    };
    payments::insert_pending(
        &transaction,
        &NewPayment {
            payment_id: attempt.payment_id,
            order_id,
            buyer_id,
            idempotency_key,
            request_fingerprint: fingerprint,
            amount_minor: attempt.amount_minor,
            currency: &attempt.currency,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(Begun::New(attempt))
}

/// Waits, a bounded time, for a payment made by an earlier request with the same key.
async fn wait_until_settled(deps: &Deps, payment_id: Uuid) -> Result<PaymentRecord, OrderError> {
    let deadline = tokio::time::Instant::now() + deps.payments.charge_timeout;
    loop {
        let client = deps.database.pool().get().await?;
        let payment = payments::find(&client, payment_id)
            .await?
            .ok_or(OrderError::NotFound)?;
        if payment.state != PaymentState::Pending {
            return Ok(payment);
        }
        drop(client);
        if tokio::time::Instant::now() >= deadline {
            return Err(OrderError::PaymentPending);
        }
        tokio::time::sleep(SETTLED_POLL).await;
    }
}

/// What the buyer is answered for a settled payment; the same for every repeat of its key.
async fn answer(
    deps: &Deps,
    buyer_id: Uuid,
    payment: &PaymentRecord,
) -> Result<OrderView, OrderError> {
    match payment.state {
        PaymentState::Succeeded => order_views::order(deps, payment.order_id, buyer_id).await,
        PaymentState::Refunded
            if payment.reason.as_deref() == Some(RefundReason::HoldExpired.as_str()) =>
        {
            Err(OrderError::RefundedAfterExpiry)
        }
        PaymentState::Refunded
            if payment.reason.as_deref() == Some(RefundReason::EventCancelled.as_str()) =>
        {
            Err(OrderError::EventCancelled)
        }
        PaymentState::Refunded => order_views::order(deps, payment.order_id, buyer_id).await,
        PaymentState::Declined => Err(OrderError::Declined(
            payment
                .reason
                .clone()
                .unwrap_or_else(|| "declined".to_owned()),
        )),
        PaymentState::Failed => Err(OrderError::PaymentFailed),
        PaymentState::Pending => Err(OrderError::PaymentPending),
    }
}

/// Applies the provider's outcome to a pending payment, once: a second call (the webhook after
/// the answer, or the other way round) finds it settled and changes nothing. A charge that
/// turns up for an attempt the recovery sweep had marked failed is refunded.
pub async fn settle(
    deps: &Deps,
    payment_id: Uuid,
    outcome: ChargeOutcome,
) -> Result<PaymentRecord, OrderError> {
    let mut client = deps.database.pool().get().await?;
    let found = payments::find(&client, payment_id)
        .await?
        .ok_or(OrderError::NotFound)?;
    // Settled already (the answer and the webhook both come): nothing to lock or wait for.
    let succeeded_after_failure =
        found.state == PaymentState::Failed && matches!(outcome, ChargeOutcome::Succeeded { .. });
    if found.state != PaymentState::Pending && !succeeded_after_failure {
        return Ok(found);
    }
    let order_id = found.order_id;
    let transaction = client.transaction().await?;
    // Order first, then payment: the same order as `begin`, so the two never deadlock.
    let order = orders::lock_order(&transaction, order_id, None)
        .await?
        .ok_or(OrderError::NotFound)?;
    let payment = payments::lock(&transaction, payment_id)
        .await?
        .ok_or(OrderError::NotFound)?;
    match (payment.state, &outcome) {
        (PaymentState::Pending, _) => {}
        (PaymentState::Failed, ChargeOutcome::Succeeded { charge_id }) => {
            // Given up on, then charged after all: the order may have been paid another way
            // since, so this money goes back.
            tracing::warn!(%payment_id, "a charge arrived for a payment given up on; refunding it");
            let refund_id = refund_charge(deps, &payment, charge_id).await?;
            let change = PaymentChange {
                charge_id: Some(charge_id),
                refund_id: Some(&refund_id),
                reason: Some("charged_after_failure"),
            };
            payments::set_state(&transaction, payment_id, PaymentState::Refunded, &change).await?;
            transaction.commit().await?;
            return payments::find(&client, payment_id)
                .await?
                .ok_or(OrderError::NotFound);
        }
        _ => return Ok(payment),
    }
    let mut retaken = false;
    match outcome {
        ChargeOutcome::Declined { reason } => {
            let change = PaymentChange {
                reason: Some(&reason),
                ..PaymentChange::default()
            };
            payments::set_state(&transaction, payment_id, PaymentState::Declined, &change).await?;
        }
        ChargeOutcome::Succeeded { charge_id } => match order.state {
            OrderState::Reserved => {
                mark_paid(&transaction, &order, &payment, &charge_id).await?;
            }
            OrderState::Expired | OrderState::Cancelled => {
                inventory::lock_counters(&transaction, order.event_id, false).await?;
                if inventory::is_cancelled(&transaction, order.event_id).await? {
                    let reason = RefundReason::EventCancelled;
                    refund_late_charge(deps, &transaction, &order, &payment, &charge_id, reason)
                        .await?;
                } else if orders::retake_places(&transaction, &order).await? {
                    retaken = true;
                    mark_paid(&transaction, &order, &payment, &charge_id).await?;
                } else {
                    let reason = RefundReason::HoldExpired;
                    refund_late_charge(deps, &transaction, &order, &payment, &charge_id, reason)
                        .await?;
                }
            }
            OrderState::Paid
            | OrderState::Ticketed
            | OrderState::Rejected
            | OrderState::Refunded => {
                // Nothing to sell for this money (the unique live payment per order makes a
                // second charge of a paid order impossible; this is the belt to those braces).
                tracing::error!(%payment_id, state = order.state.as_str(), "charge for an order that cannot take it");
                let reason = RefundReason::HoldExpired;
                refund_late_charge(deps, &transaction, &order, &payment, &charge_id, reason)
                    .await?;
            }
        },
    }
    transaction.commit().await?;
    deps.outbox.wake();
    if retaken {
        // The expiry gave the places back to the counters; they are sold again.
        if let Err(error) = counters::rebuild(deps, order.event_id).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "counters not rebuilt after a late payment; the reconciler will"
            );
        }
    }
    payments::find(&client, payment_id)
        .await?
        .ok_or(OrderError::NotFound)
}

async fn mark_paid(
    client: &impl GenericClient,
    order: &OrderRecord,
    payment: &PaymentRecord,
    charge_id: &str,
) -> Result<(), OrderError> {
    let paid_at = orders::mark_paid(client, order.order_id).await?;
    let change = PaymentChange {
        charge_id: Some(charge_id),
        ..PaymentChange::default()
    };
    payments::set_state(client, payment.payment_id, PaymentState::Succeeded, &change).await?;
    let places = orders::claims_of(client, &[order.order_id])
        .await?
        .remove(&order.order_id)
        .unwrap_or_default();
    let message = OrderPaidV1 {
        order_id: order.order_id,
        purchase_id: order.purchase_id,
        buyer_id: order.buyer_id,
        event_id: order.event_id,
        places,
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        payment_id: payment.payment_id,
        paid_at,
    };
    outbox::enqueue(
        client,
        ExchangeRole::Events,
        &Envelope::new(order.purchase_id, message),
    )
    .await?;
    Ok(())
}

/// A charge whose order has no places for it any more: refunded at once, and the buyer told.
async fn refund_late_charge(
    deps: &Deps,
    client: &impl GenericClient,
    order: &OrderRecord,
    payment: &PaymentRecord,
    charge_id: &str,
    reason: RefundReason,
) -> Result<(), OrderError> {
    let refund_id = refund_charge(deps, payment, charge_id).await?;
    record_refund(client, payment, charge_id, &refund_id, reason).await?;
    orders::set_order_state(client, order.order_id, OrderState::Refunded).await?;
    enqueue_refunded(client, order, payment, reason).await
}

/// Refunds a succeeded charge in full at the provider (idempotent by payment).
pub(super) async fn refund_charge(
    deps: &Deps,
    payment: &PaymentRecord,
    charge_id: &str,
) -> Result<String, OrderError> {
    let request = RefundRequest {
        idempotency_key: format!("refund-{}", payment.payment_id),
        charge_id: charge_id.to_owned(),
        amount_minor: payment.amount_minor,
    };
    match tokio::time::timeout(deps.payments.charge_timeout, deps.provider.refund(request)).await {
        Ok(Ok(refund_id)) => Ok(refund_id),
        Ok(Err(error)) => Err(OrderError::Internal(
            anyhow::Error::new(error).context("refund"),
        )),
        Err(_) => Err(OrderError::Internal(anyhow::anyhow!("refund timed out"))),
    }
}

pub(super) async fn record_refund(
    client: &impl GenericClient,
    payment: &PaymentRecord,
    charge_id: &str,
    refund_id: &str,
    reason: RefundReason,
) -> Result<(), OrderError> {
    let change = PaymentChange {
        charge_id: Some(charge_id),
        refund_id: Some(refund_id),
        reason: Some(reason.as_str()),
    };
    payments::set_state(client, payment.payment_id, PaymentState::Refunded, &change).await?;
    Ok(())
}

pub(super) async fn enqueue_refunded(
    client: &impl GenericClient,
    order: &OrderRecord,
    payment: &PaymentRecord,
    reason: RefundReason,
) -> Result<(), OrderError> {
    let message = OrderRefundedV1 {
        order_id: order.order_id,
        purchase_id: order.purchase_id,
        buyer_id: order.buyer_id,
        event_id: order.event_id,
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        reason,
    };
    outbox::enqueue(
        client,
        ExchangeRole::Events,
        &Envelope::new(order.purchase_id, message),
    )
    .await?;
    Ok(())
}

/// `POST /v1/payments/webhook`: a verified notice settles its payment; one for a payment this
/// service does not know is acknowledged and ignored (it may be another merchant's).
pub async fn receive_webhook(
    deps: &Deps,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OrderError> {
    let notice = deps
        .provider
        .verify_webhook(headers, body)
        .map_err(OrderError::InvalidWebhook)?;
    let Ok(payment_id) = notice.idempotency_key.parse::<Uuid>() else {
        return Ok(());
    };
    match settle(deps, payment_id, notice.outcome).await {
        Ok(_) | Err(OrderError::NotFound) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Settles payments left pending (their answer and webhook lost) from the provider's record,
/// every `pending_recovery_after / 4` until `shutdown`.
pub fn spawn_recovery(deps: Deps, shutdown: CancellationToken) -> JoinHandle<()> {
    let interval = (deps.payments.pending_recovery_after / 4).max(Duration::from_millis(100));
    tokio::spawn(async move {
        loop {
            if let Err(error) = recover_pending(&deps).await {
                tracing::warn!(error = format!("{error:#}"), "payment recovery failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        tracing::info!("payment recovery stopped");
    })
}

/// One pass over stale pending payments; returns how many were settled.
pub async fn recover_pending(deps: &Deps) -> anyhow::Result<usize> {
    let stale = {
        let client = deps.database.pool().get().await?;
        let age = deps.payments.pending_recovery_after.as_secs_f64();
        payments::stale_pending(&client, age, RECOVERY_BATCH).await?
    };
    let mut settled = 0;
    for payment_id in stale {
        let outcome = deps.provider.find_charge(&payment_id.to_string()).await?;
        match outcome {
            Some(outcome) => {
                settle(deps, payment_id, outcome).await?;
            }
            None => mark_failed(deps, payment_id).await?,
        }
        settled += 1;
    }
    if settled > 0 {
        tracing::info!(settled, "pending payments recovered");
    }
    Ok(settled)
}

/// The provider never charged this attempt: it no longer blocks another payment.
async fn mark_failed(deps: &Deps, payment_id: Uuid) -> Result<(), OrderError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let Some(found) = payments::find(&transaction, payment_id).await? else {
        return Ok(());
    };
    orders::lock_order(&transaction, found.order_id, None).await?;
    if let Some(payment) = payments::lock(&transaction, payment_id).await?
        && payment.state == PaymentState::Pending
    {
        payments::set_state(
            &transaction,
            payment_id,
            PaymentState::Failed,
            &PaymentChange::default(),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}
