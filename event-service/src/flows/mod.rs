//! The use cases of event-service, one file each. Flows own transactions and the outbox;
//! HTTP handlers call exactly one flow and map its outcome.

pub mod availability;
pub mod events;
pub mod inventory;
pub mod seats;
pub mod venues;

use common::{amqp::OutboxSignal, postgres::Database, redis::RedisStore};

use crate::domain::FieldErrors;

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub redis: RedisStore,
    pub outbox: OutboxSignal,
    pub availability: availability::AvailabilityHub,
    pub orders: inventory::OrderInventory,
}

/// Business outcomes other than success; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    /// Missing, or someone else's: the two are not told apart.
    #[error("no such event or venue")]
    NotFound,
    #[error("the event is published; only its title, description and category can change")]
    Published,
    #[error("only a published event can be cancelled; a draft is simply never published")]
    NotPublished,
    #[error("the event is cancelled")]
    Cancelled,
    /// A service this answer needs did not answer; nothing changed.
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for EventError {
    fn from(error: tokio_postgres::Error) -> Self {
        EventError::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for EventError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            // Overloaded, not broken: the caller is told to come back (503 + Retry-After).
            deadpool_postgres::PoolError::Timeout(_) => {
                EventError::Unavailable("the catalog is busy; retry shortly")
            }
            other => EventError::Internal(other.into()),
        }
    }
}
