//! The use cases of ticket-service, one file each: issuing tickets for paid orders, revoking
//! those of refunded orders, the holder's tickets and their documents, check-in at the door.
//! Broker consumers and HTTP handlers call exactly one flow.

pub mod checkins;
pub mod issuing;
pub mod revocations;
pub mod tickets;

use std::sync::Arc;

use common::{amqp::OutboxSignal, postgres::Database, s3::ObjectStore};
use ed25519_dalek::SigningKey;
use tokio::sync::Semaphore;

use crate::{config::TicketConfig, directory::Directory};

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub store: ObjectStore,
    pub directory: Arc<Directory>,
    pub outbox: OutboxSignal,
    pub signing_key: Arc<SigningKey>,
    /// Documents rendered at once; a permit moves into the blocking task.
    pub render_permits: Arc<Semaphore>,
    pub tickets: TicketConfig,
}

/// Business outcomes other than success; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// Missing, or someone else's.
    #[error("no such ticket")]
    NotFound,
    /// Forged, altered, unknown, or of an event the scanner may not scan.
    #[error("not a valid ticket for this event")]
    InvalidCode,
    #[error("the ticket was already used at {0}")]
    AlreadyUsed(String),
    #[error("the ticket was revoked: its order was refunded")]
    Revoked,
    #[error("the ticket's document is still being made")]
    NotReady,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for TicketError {
    fn from(error: tokio_postgres::Error) -> Self {
        TicketError::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for TicketError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        TicketError::Internal(error.into())
    }
}
