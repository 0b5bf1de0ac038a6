//! The use cases of order-service, one file each. Flows own transactions, the outbox and the
//! Redis counters; the broker consumers and HTTP handlers call exactly one flow.

pub mod cancellations;
pub mod counters;
pub mod holds;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod reservations;

use std::sync::Arc;

use common::{amqp::OutboxSignal, postgres::Database, redis::RedisStore};
use contracts::orders::OrderState;

use crate::{
    config::{PaymentConfig, ReservationConfig},
    payments::{PaymentProvider, WebhookError},
};

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub redis: RedisStore,
    pub outbox: OutboxSignal,
    pub reservations: ReservationConfig,
    pub payments: PaymentConfig,
    pub provider: Arc<dyn PaymentProvider>,
}

/// Business outcomes other than success; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Missing, or someone else's.
    #[error("no such order")]
    NotFound,
    /// The order is in a state that does not allow the change.
    #[error("the order is {}", .0.as_str())]
    WrongState(OrderState),
    #[error("the card was declined ({0}); the hold stays until it expires")]
    Declined(String),
    #[error("the hold expired before the payment")]
    HoldExpired,
    /// The payment came after the hold expired and its places were sold meanwhile.
    #[error(
        "the hold expired and its places were sold before the payment arrived; the charge was refunded"
    )]
    RefundedAfterExpiry,
    #[error("the event was cancelled; any charge was refunded")]
    EventCancelled,
    #[error("the order is paid already; nothing was charged again")]
    AlreadyPaid,
    #[error("another payment of this order is being processed")]
    PaymentInProgress,
    /// The provider's answer is not known yet; a retry with the same key gives it.
    #[error("the payment is still being processed; retry with the same Idempotency-Key")]
    PaymentPending,
    /// The provider has no charge for this attempt: nothing was charged.
    #[error(
        "the payment could not be made and nothing was charged; pay again with a new Idempotency-Key"
    )]
    PaymentFailed,
    #[error("this Idempotency-Key was used for another payment")]
    KeyReused,
    #[error(transparent)]
    InvalidWebhook(WebhookError),
    /// No database connection came free in time: nothing was done, or what was begun is
    /// finished by the webhook or the recovery sweep; a retry with the same key gives the
    /// outcome.
    #[error("the service is busy; retry with the same Idempotency-Key")]
    Busy,
    /// Not published, or its `event.published` not applied yet.
    #[error("no inventory for this event")]
    UnknownEvent,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for OrderError {
    fn from(error: tokio_postgres::Error) -> Self {
        OrderError::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for OrderError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Timeout(_) => OrderError::Busy,
            other => OrderError::Internal(other.into()),
        }
    }
}
