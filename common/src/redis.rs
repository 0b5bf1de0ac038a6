//! Redis: one multiplexed, self-reconnecting connection per process (commands from all tasks
//! are pipelined over it), and the key prefix that keeps deployments and tests apart.
//!
//! Redis is a fast filter, never the truth: whatever is kept here can be rebuilt from Postgres.

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisConfig;

#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    connection: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    /// Returns at once; the connection is made on first use and remade after a failure.
    pub fn open(config: &RedisConfig) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(config.url.expose().as_str()).context("TICKETING_REDIS_URL")?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.response_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .context("creating the Redis connection manager")?;
        Ok(Self {
            client,
            connection,
            prefix: config.key_prefix.clone(),
        })
    }

    /// A handle to the shared connection; cloning it is cheap.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// A dedicated connection for subscribing to channels (a subscribed connection can do
    /// nothing else); the caller remakes it after it drops.
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    /// `<prefix>:<rest>`: every key this process writes goes through here.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// Readiness: the server answers PING.
    pub async fn check(&self) -> anyhow::Result<()> {
        let mut connection = self.connection();
        let pong: String = redis::cmd("PING").query_async(&mut connection).await?;
        anyhow::ensure!(pong == "PONG", "unexpected PING answer {pong:?}");
        Ok(())
    }
}
