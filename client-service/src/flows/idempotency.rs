//! `Idempotency-Key` for purchases: the first request with a key claims it (atomically, so 20
//! concurrent repeats make one purchase), and its answer is stored for every repeat. Keys are
//! scoped to the buyer; the same key with another body is refused.

use std::time::Duration;

use common::redis::RedisStore;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Refusal;

/// How long a key is remembered.
const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// What was answered to the first request with a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Accepted { purchase_id: Uuid },
    Refused(Refusal),
}

/// A key's record: the body's fingerprint, and the answer once there is one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub fingerprint: String,
    pub answer: Option<Answer>,
}

fn key(redis: &RedisStore, buyer_id: Uuid, idempotency_key: &str) -> String {
    redis.key(&format!("idempotency:{buyer_id}:{idempotency_key}"))
}

/// Claims the key for a request with `fingerprint`; returns the existing claim if another
/// request made it first.
pub async fn claim(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
    fingerprint: &str,
) -> anyhow::Result<Option<Claim>> {
    let claim = Claim {
        fingerprint: fingerprint.to_owned(),
        answer: None,
    };
    let options = redis::SetOptions::default()
        .conditional_set(redis::ExistenceCheck::NX)
        .get(true)
        .with_expiration(redis::SetExpiry::EX(KEY_TTL.as_secs()));
    let previous: Option<String> = redis
        .connection()
        .set_options(
            key(redis, buyer_id, idempotency_key),
            serde_json::to_string(&claim)?,
            options,
        )
        .await?;
    Ok(previous
        .map(|json| serde_json::from_str(&json))
        .transpose()?)
}

/// The claim as it is now (`None` if it was released).
pub async fn read(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<Option<Claim>> {
    let json: Option<String> = redis
        .connection()
        .get(key(redis, buyer_id, idempotency_key))
        .await?;
    Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
}

/// Stores the answer of the request that claimed the key.
pub async fn answer(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
    fingerprint: &str,
    answer: Answer,
) -> anyhow::Result<()> {
    let claim = Claim {
        fingerprint: fingerprint.to_owned(),
        answer: Some(answer),
    };
    let () = redis
        .connection()
        .set_ex(
            key(redis, buyer_id, idempotency_key),
            serde_json::to_string(&claim)?,
            KEY_TTL.as_secs(),
        )
        .await?;
    Ok(())
}

/// Forgets the key after a failure that changed nothing (503), so the client may retry it.
pub async fn release(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<()> {
    let () = redis
        .connection()
        .del(key(redis, buyer_id, idempotency_key))
        .await?;
    Ok(())
}
