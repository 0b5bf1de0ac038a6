//! The envelope every message on the broker travels in, and the trait that names a payload's
//! type and version.
//!
//! Messages are past-tense facts (`OrderPaidV1`) or commands (`PurchasesRequestedV1`); the
//! envelope's `type` doubles as the routing key, so a consumer binds to exactly what it reads.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use time::OffsetDateTime;
use uuid::Uuid;

/// A payload that can travel on the broker.
pub trait Message: Serialize + DeserializeOwned {
    /// Dotted type, also the routing key, e.g. `order.paid`.
    const TYPE: &'static str;
    /// Schema version of the payload; bumped on any incompatible change.
    const VERSION: u16;
}

/// `{id, type, version, occurred_at, correlation_id, payload}` as in ARCHITECTURE.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<P> {
    /// Unique per message; consumers deduplicate on it.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub message_type: String,
    pub version: u16,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Ties together every message caused by one request.
    pub correlation_id: Uuid,
    pub payload: P,
}

impl<P: Message> Envelope<P> {
    pub fn new(correlation_id: Uuid, payload: P) -> Self {
        Self {
            id: Uuid::now_v7(),
            message_type: P::TYPE.to_owned(),
            version: P::VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            correlation_id,
            payload,
        }
    }
}
