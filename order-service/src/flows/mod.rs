//! The use cases of order-service, one file each. Flows own transactions, the outbox and the
//! Redis counters; the broker consumers and HTTP handlers call exactly one flow.

pub mod counters;
pub mod holds;
pub mod inventory;
pub mod reservations;

use common::{amqp::OutboxSignal, postgres::Database, redis::RedisStore};

use crate::config::ReservationConfig;

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub redis: RedisStore,
    pub outbox: OutboxSignal,
    pub reservations: ReservationConfig,
}

/// Business outcomes other than success; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Missing, someone else's, or not in a state that allows the change.
    #[error("no such reserved order")]
    NotFound,
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
        OrderError::Internal(error.into())
    }
}
