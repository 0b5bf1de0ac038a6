//! Failed-login counters in Redis, per email and per client address, each expiring a window
//! after its first failure. Losing them (a Redis flush) only forgives some failures.

use std::time::Duration;

use common::redis::RedisStore;
use redis::Script;

/// `INCR`, and start the window on the first failure, atomically.
const RECORD_FAILURE: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
";

pub fn email_key(redis: &RedisStore, email: &str) -> String {
    redis.key(&format!("login-failures:email:{email}"))
}

pub fn address_key(redis: &RedisStore, address: &str) -> String {
    redis.key(&format!("login-failures:address:{address}"))
}

/// Failures recorded under `key`, and the seconds until they are forgotten.
pub async fn failures(redis: &RedisStore, key: &str) -> redis::RedisResult<(u32, u64)> {
    let mut connection = redis.connection();
    let (count, ttl): (Option<u32>, i64) = redis::pipe()
        .get(key)
        .ttl(key)
        .query_async(&mut connection)
        .await?;
    Ok((count.unwrap_or(0), u64::try_from(ttl).unwrap_or(0)))
}

pub async fn record_failure(
    redis: &RedisStore,
    key: &str,
    window: Duration,
) -> redis::RedisResult<u32> {
    let mut connection = redis.connection();
    Script::new(RECORD_FAILURE)
        .key(key)
        .arg(window.as_secs().max(1))
        .invoke_async(&mut connection)
        .await
}

pub async fn forget(redis: &RedisStore, key: &str) -> redis::RedisResult<()> {
    let mut connection = redis.connection();
    redis::cmd("DEL")
        .arg(key)
        .query_async(&mut connection)
        .await
}
