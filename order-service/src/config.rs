//! The one typed configuration of order-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use std::time::Duration;

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, RedisConfig,
    TokenVerificationConfig, env_millis, env_or, env_seconds, log_format_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub amqp: AmqpConfig,
    pub tokens: TokenVerificationConfig,
    pub reservations: ReservationConfig,
}

/// How purchase requests are taken from the queue and how long holds last.
#[derive(Debug, Clone)]
pub struct ReservationConfig {
    /// How long reserved places stay held for payment.
    pub hold_duration: Duration,
    /// Purchase requests the broker may send ahead, per queue.
    pub prefetch_count: u16,
    /// Most requests reserved in one transaction.
    pub max_batch: usize,
    /// Reservation transactions at the same time, per queue.
    pub concurrent_batches: usize,
    /// How often expired holds are looked for.
    pub sweep_interval: Duration,
    /// How often missing counters are rebuilt.
    pub counter_check_interval: Duration,
    /// How often every event's counters are rewritten from Postgres.
    pub reconcile_interval: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env("ORDER", 8083)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("ORDER", "orders")?,
            redis: RedisConfig::from_env()?,
            amqp: AmqpConfig::from_env()?,
            tokens: TokenVerificationConfig::from_env()?,
            reservations: ReservationConfig::from_env()?,
        })
    }
}

impl Default for ReservationConfig {
    /// Production settings: 10-minute holds, batches of up to 500 (measured: smaller batches
    /// let the queue back up at a drop), counters checked every second.
    fn default() -> Self {
        Self {
            hold_duration: Duration::from_secs(600),
            prefetch_count: 2_000,
            max_batch: 500,
            concurrent_batches: 2,
            sweep_interval: Duration::from_secs(1),
            counter_check_interval: Duration::from_secs(1),
            reconcile_interval: Duration::from_secs(30),
        }
    }
}

impl ReservationConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Ok(Self {
            hold_duration: env_seconds("TICKETING_HOLD_SECONDS", default.hold_duration.as_secs())?,
            prefetch_count: env_or("TICKETING_RESERVATION_PREFETCH", default.prefetch_count)?,
            max_batch: env_or("TICKETING_RESERVATION_BATCH", default.max_batch)?,
            concurrent_batches: env_or(
                "TICKETING_RESERVATION_CONCURRENCY",
                default.concurrent_batches,
            )?,
            sweep_interval: env_millis("TICKETING_HOLD_SWEEP_MS", millis(default.sweep_interval))?,
            counter_check_interval: env_millis(
                "TICKETING_COUNTER_CHECK_MS",
                millis(default.counter_check_interval),
            )?,
            reconcile_interval: env_seconds(
                "TICKETING_RECONCILE_SECONDS",
                default.reconcile_interval.as_secs(),
            )?,
        })
    }
}
