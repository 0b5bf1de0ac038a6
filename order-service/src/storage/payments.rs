//! Payment attempts of orders. A partial unique index allows one pending or succeeded
//! payment per order, so a second charge cannot even be attempted.

use common::postgres::CachedStatements;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::payment::PaymentState;

#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub request_fingerprint: String,
    pub amount_minor: i64,
    pub currency: String,
    pub state: PaymentState,
    pub charge_id: Option<String>,
    pub reason: Option<String>,
}

const COLUMNS: &str = "payment_id, order_id, request_fingerprint, amount_minor, currency, state,
                       provider_charge_id, reason";

fn record(row: &tokio_postgres::Row) -> PaymentRecord {
    PaymentRecord {
        payment_id: row.get(0),
        order_id: row.get(1),
        request_fingerprint: row.get(2),
        amount_minor: row.get(3),
        currency: row.get(4),
        state: PaymentState::parse(row.get(5)).unwrap_or(PaymentState::Pending),
        charge_id: row.get(6),
        reason: row.get(7),
    }
}

/// The payment the buyer asked for with this key, if any.
pub async fn find_by_key(
    client: &impl GenericClient,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> Result<Option<PaymentRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!("SELECT {COLUMNS} FROM payments WHERE buyer_id = $1 AND idempotency_key = $2"),
            &[&buyer_id, &idempotency_key],
        )
        .await?;
    Ok(row.as_ref().map(record))
}

/// The order's payment that is pending or succeeded, if any.
pub async fn live_payment_of(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<Option<PaymentRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!(
                "SELECT {COLUMNS} FROM payments
                 WHERE order_id = $1 AND state IN ('pending', 'succeeded')"
            ),
            &[&order_id],
        )
        .await?;
    Ok(row.as_ref().map(record))
}

pub async fn find(
    client: &impl GenericClient,
    payment_id: Uuid,
) -> Result<Option<PaymentRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!("SELECT {COLUMNS} FROM payments WHERE payment_id = $1"),
            &[&payment_id],
        )
        .await?;
    Ok(row.as_ref().map(record))
}

/// Locks the payment row; the caller holds its order's lock first (always order, then
/// payment, so that payers and settlers never wait on each other in a cycle).
pub async fn lock(
    client: &impl GenericClient,
    payment_id: Uuid,
) -> Result<Option<PaymentRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!("SELECT {COLUMNS} FROM payments WHERE payment_id = $1 FOR UPDATE"),
            &[&payment_id],
        )
        .await?;
    Ok(row.as_ref().map(record))
}

pub struct NewPayment<'a> {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
}

pub async fn insert_pending(
    client: &impl GenericClient,
    payment: &NewPayment<'_>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute_cached(
            "INSERT INTO payments (payment_id, order_id, buyer_id, idempotency_key,
                                   request_fingerprint, amount_minor, currency, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
            &[
                &payment.payment_id,
                &payment.order_id,
                &payment.buyer_id,
                &payment.idempotency_key,
                &payment.request_fingerprint,
                &payment.amount_minor,
                &payment.currency,
            ],
        )
        .await?;
    Ok(())
}

/// What changes with a payment's new state; `None` keeps what the row has.
#[derive(Debug, Default)]
pub struct PaymentChange<'a> {
    pub charge_id: Option<&'a str>,
    pub refund_id: Option<&'a str>,
    pub reason: Option<&'a str>,
}

pub async fn set_state(
    client: &impl GenericClient,
    payment_id: Uuid,
    state: PaymentState,
    change: &PaymentChange<'_>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute_cached(
            "UPDATE payments SET state = $2,
                    provider_charge_id = coalesce($3, provider_charge_id),
                    provider_refund_id = coalesce($4, provider_refund_id),
                    reason = coalesce($5, reason),
                    updated_at = now()
             WHERE payment_id = $1",
            &[
                &payment_id,
                &state.as_str(),
                &change.charge_id,
                &change.refund_id,
                &change.reason,
            ],
        )
        .await?;
    Ok(())
}

/// Payments pending for longer than `older_than_seconds`, oldest first.
pub async fn stale_pending(
    client: &impl GenericClient,
    older_than_seconds: f64,
    limit: i64,
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT payment_id FROM payments
             WHERE state = 'pending' AND created_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT $2",
            &[&older_than_seconds, &limit],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
