//! The Redis key schema of live availability, shared by order-service (the only writer of the
//! counters), client-service (admission) and event-service (display).
//!
//! One event's keys carry the event id as a hash tag (`{event:<id>}`), so that with Redis
//! Cluster they live in one slot and one Lua script may touch them all. The counters are a
//! filter rebuilt from Postgres, never the truth.

use std::collections::HashMap;

use redis::AsyncCommands;
use uuid::Uuid;

use crate::redis::RedisStore;

/// `<prefix>:{event:<id>}:remaining`: a hash of tier id -> places left.
pub fn remaining_key(redis: &RedisStore, event_id: Uuid) -> String {
    redis.key(&format!("{{event:{event_id}}}:remaining"))
}

/// Places left per tier, or `None` when the counters of this event are not in Redis (not
/// built yet, or lost in a flush).
pub async fn read_remaining(
    redis: &RedisStore,
    event_id: Uuid,
) -> redis::RedisResult<Option<HashMap<Uuid, i64>>> {
    let mut connection = redis.connection();
    let raw: HashMap<String, i64> = connection.hgetall(remaining_key(redis, event_id)).await?;
    if raw.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        raw.into_iter()
            .filter_map(|(tier, remaining)| tier.parse().ok().map(|tier| (tier, remaining)))
            .collect(),
    ))
}
