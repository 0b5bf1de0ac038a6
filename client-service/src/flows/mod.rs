//! The use cases client-service handles itself (everything else is forwarded): purchase
//! intake and purchase status.

pub mod admission;
pub mod idempotency;
pub mod purchases;
pub mod queueing;
pub mod status;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use common::redis::RedisStore;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub redis: RedisStore,
    pub purchase_queue: queueing::PurchaseQueue,
    pub updates: status::PurchaseUpdates,
    /// Asked only on the rare path where an event has no counters: is it an event at all?
    pub catalog: Catalog,
    /// One permit per purchase request being handled (`purchase_max_in_flight`).
    pub intake_permits: Arc<Semaphore>,
    /// How long a key may stay `admitted` before a repeat takes its publish over: longer
    /// than a request can wait for its message (a publish slot frees within one confirm
    /// timeout) and then for that message's confirm.
    pub republish_after: Duration,
}

/// event-service's public catalog, for telling an unknown event from one being rebuilt.
#[derive(Clone)]
pub struct Catalog {
    pub http: reqwest::Client,
    pub event_url: String,
}

/// A purchase refused before it was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownEvent,
    UnknownTier(Uuid),
    UnknownSeat(Uuid),
    SeatTaken(Uuid),
    SoldOut(Uuid),
    NotOpen(OffsetDateTime),
    Closed,
    OverLimit { allowance: u32 },
}

/// Everything but `202 Accepted`; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    #[error("some fields are invalid")]
    Invalid(BTreeMap<String, String>),
    #[error("the purchase was refused")]
    Refused(Refusal),
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error("no such purchase")]
    NotFound,
    /// Retry after `retry_after_seconds` (with the same `Idempotency-Key`: if anything was
    /// done, the retry answers what).
    #[error("{reason}")]
    Unavailable {
        reason: &'static str,
        retry_after_seconds: u64,
    },
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Every failure a flow passes on with `?` comes through here. Redis unreachable or too slow
/// to answer is an overload or an outage, not a fault of the request: the client is told to
/// retry. Whether a purchase's admission ran is then not known, and the retry with the same
/// key finds out (a key left `admitted` is published by the repeat, one never claimed is
/// admitted afresh).
impl From<anyhow::Error> for PurchaseError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast_ref::<redis::RedisError>() {
            Some(cause)
                if cause.is_timeout()
                    || cause.is_io_error()
                    || cause.is_connection_refusal()
                    || cause.is_connection_dropped() =>
            {
                tracing::warn!(error = %cause, "Redis did not answer");
                PurchaseError::Unavailable {
                    reason: "purchases cannot be checked right now; retry, with the same \
                             Idempotency-Key for a purchase request",
                    retry_after_seconds: 1,
                }
            }
            _ => PurchaseError::Internal(error),
        }
    }
}
