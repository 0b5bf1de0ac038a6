//! The one typed configuration of event-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use std::time::Duration;

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, RedisConfig,
    TokenVerificationConfig, env_millis, env_or, log_format_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub amqp: AmqpConfig,
    pub tokens: TokenVerificationConfig,
    /// order-service, for seat states and for availability when Redis has no counters.
    pub order_url: String,
    /// How often live availability is read for the streams (each stream gets at most one
    /// message per interval).
    pub availability_poll_interval: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env("EVENT", 8082)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("EVENT", "events")?,
            redis: RedisConfig::from_env()?,
            amqp: AmqpConfig::from_env()?,
            tokens: TokenVerificationConfig::from_env()?,
            order_url: env_or("TICKETING_ORDER_URL", "http://127.0.0.1:8083".to_owned())?,
            availability_poll_interval: env_millis("TICKETING_AVAILABILITY_POLL_MS", 500)?,
        })
    }
}
