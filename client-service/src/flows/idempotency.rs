//! `Idempotency-Key` for purchases. Admission claims the key in the same script that admits
//! or refuses the request (so 20 concurrent repeats make one purchase), as a Redis hash:
//! `fingerprint` (the body's hash), `purchase`, `state` and `admission` (what admission
//! said), `at` (unix ms). Keys are scoped to the buyer; the same key with another body is
//! refused.
//!
//! States: `refused` (the answer is `admission`), `admitted` (the places are taken and the
//! request is being published), `accepted` (the broker confirmed it: 202). A key left
//! `admitted` by a request whose publish failed or went unconfirmed is taken over by the
//! client's retry, which publishes the same purchase again: order-service changes nothing for
//! a purchase it has already decided, so the retry learns the truth either way.

use std::time::Duration;

use anyhow::Context;
use common::redis::RedisStore;
use redis::AsyncCommands;
use time::OffsetDateTime;
use uuid::Uuid;

use super::admission::{self, Admission};

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    Admitted,
    Accepted,
    Refused(Admission),
}

/// A key's record.
#[derive(Debug, Clone)]
pub struct Claim {
    pub fingerprint: String,
    pub purchase_id: Uuid,
    pub state: ClaimState,
    /// When the request was admitted: also the purchase's `requested_at`.
    pub at: OffsetDateTime,
}

impl Claim {
    /// From the hash's fields and values, in `HGETALL` order.
    pub fn from_fields(fields: &[&str]) -> anyhow::Result<Self> {
        let field = |name: &str| {
            fields
                .chunks_exact(2)
                .find(|pair| pair[0] == name)
                .map(|pair| pair[1])
                .with_context(|| format!("idempotency claim without {name}"))
        };
        let state = match field("state")? {
            "admitted" => ClaimState::Admitted,
            "accepted" => ClaimState::Accepted,
            _ => {
                let words: Vec<&str> = field("admission")?.split(' ').collect();
                ClaimState::Refused(Admission::parse(&words))
            }
        };
        Ok(Self {
            fingerprint: field("fingerprint")?.to_owned(),
            purchase_id: field("purchase")?.parse()?,
            state,
            at: admission::from_unix_ms(field("at")?).context("idempotency claim time")?,
        })
    }
}

pub fn key(redis: &RedisStore, buyer_id: Uuid, idempotency_key: &str) -> String {
    redis.key(&format!("idempotency:{buyer_id}:{idempotency_key}"))
}

/// The claim as it is now (`None` once expired).
pub async fn read(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<Option<Claim>> {
    let fields: Vec<String> = redis
        .connection()
        .hgetall(key(redis, buyer_id, idempotency_key))
        .await?;
    if fields.is_empty() {
        return Ok(None);
    }
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    Claim::from_fields(&fields).map(Some)
}

/// Records that the broker confirmed the key's purchase.
pub async fn mark_accepted(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<()> {
    let () = redis
        .connection()
        .hset(key(redis, buyer_id, idempotency_key), "state", "accepted")
        .await?;
    Ok(())
}
