//! The one typed configuration of client-service, read from `TICKETING_*` environment
//! variables in `main` (defaults: the local stack) and passed down explicitly.

use std::time::Duration;

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, RedisConfig, TokenVerificationConfig,
    env_millis, env_or, env_seconds, log_format_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub redis: RedisConfig,
    pub amqp: AmqpConfig,
    pub tokens: TokenVerificationConfig,
    pub upstreams: UpstreamConfig,
    /// Purchase requests handled at once; more are refused at once with 503 + Retry-After,
    /// so that an overload costs the excess a quick retry instead of costing everyone latency.
    pub purchase_max_in_flight: usize,
}

/// Where the services behind the gateway are, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub account_url: String,
    pub event_url: String,
    pub order_url: String,
    pub ticket_url: String,
    pub delivery_url: String,
    pub connect_timeout: Duration,
    /// Longest silence while reading an upstream answer (streams send keep-alives sooner).
    pub read_timeout: Duration,
    pub max_idle_connections_per_upstream: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env("CLIENT", 8080)?,
            log_format: log_format_from_env()?,
            redis: RedisConfig::from_env()?,
            amqp: AmqpConfig::from_env()?,
            tokens: TokenVerificationConfig::from_env()?,
            purchase_max_in_flight: env_or("TICKETING_PURCHASE_MAX_IN_FLIGHT", 512)?,
            upstreams: UpstreamConfig {
                account_url: env_or("TICKETING_ACCOUNT_URL", "http://127.0.0.1:8081".to_owned())?,
                event_url: env_or("TICKETING_EVENT_URL", "http://127.0.0.1:8082".to_owned())?,
                order_url: env_or("TICKETING_ORDER_URL", "http://127.0.0.1:8083".to_owned())?,
                ticket_url: env_or("TICKETING_TICKET_URL", "http://127.0.0.1:8084".to_owned())?,
                delivery_url: env_or("TICKETING_DELIVERY_URL", "http://127.0.0.1:8085".to_owned())?,
                connect_timeout: env_millis("TICKETING_UPSTREAM_CONNECT_TIMEOUT_MS", 1_000)?,
                read_timeout: env_seconds("TICKETING_UPSTREAM_READ_TIMEOUT_SECONDS", 30)?,
                max_idle_connections_per_upstream: env_or(
                    "TICKETING_UPSTREAM_MAX_IDLE_CONNECTIONS",
                    256,
                )?,
            },
        })
    }
}
