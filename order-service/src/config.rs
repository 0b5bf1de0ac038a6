//! The one typed configuration of order-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use std::time::Duration;

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, RedisConfig, Secret,
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
    pub payments: PaymentConfig,
}

/// How purchase requests are taken from the queue and how long holds last.
#[derive(Debug, Clone)]
pub struct ReservationConfig {
    /// How long reserved places stay held for payment.
    pub hold_duration: Duration,
    /// `purchases.requested` messages (each a group of requests) the broker may send ahead,
    /// per queue.
    pub prefetch_count: u16,
    /// Most messages taken into one batch; its requests are reserved in one transaction per
    /// event.
    pub max_batch: usize,
    /// Batches reserved at the same time, per queue. One: an event's requests all go to one
    /// queue, so a second batch beside the first would fight it for the same buyer rows and
    /// the same free places (measured: Postgres 56-58 % of a core with two at a drop, 43-50 %
    /// with one, for the same 6,240 places/s), while with one the next batch gathers what
    /// arrives meanwhile. Events run side by side on separate queues and instances.
    pub concurrent_batches: usize,
    /// How often expired holds are looked for.
    pub sweep_interval: Duration,
    /// How often missing counters are rebuilt.
    pub counter_check_interval: Duration,
    /// How often every event's counters are rewritten from Postgres.
    pub reconcile_interval: Duration,
    /// An admitted purchase that has reached no order after this long never will (its
    /// publish failed and the client did not retry): reconciliation gives its places back.
    pub pending_timeout: Duration,
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
            payments: PaymentConfig::from_env()?,
        })
    }
}

impl Default for ReservationConfig {
    /// Production settings: 10-minute holds, batches of up to 500 messages (measured: smaller
    /// batches let the queue back up at a drop), one at a time per queue, counters checked
    /// every second.
    fn default() -> Self {
        Self {
            hold_duration: Duration::from_secs(600),
            prefetch_count: 2_000,
            max_batch: 500,
            concurrent_batches: 1,
            sweep_interval: Duration::from_secs(1),
            counter_check_interval: Duration::from_secs(1),
            reconcile_interval: Duration::from_secs(30),
            pending_timeout: Duration::from_secs(600),
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
            pending_timeout: env_seconds(
                "TICKETING_PENDING_ADMISSION_TIMEOUT_SECONDS",
                default.pending_timeout.as_secs(),
            )?,
        })
    }
}

/// The payment provider (the built-in sandbox) and how long to wait for it.
#[derive(Debug, Clone)]
pub struct PaymentConfig {
    /// Longest wait for the provider's answer to a charge; after it, the payment stays pending
    /// and the buyer is told to retry with the same key (the webhook settles it meanwhile).
    pub charge_timeout: Duration,
    /// Shared secret of webhook signatures (HMAC-SHA256).
    pub webhook_secret: Secret<String>,
    /// Webhooks signed longer ago than this are refused (replays).
    pub webhook_tolerance: Duration,
    /// Where the sandbox posts its webhooks; unset: this service's own
    /// `/v1/payments/webhook`.
    pub webhook_url: Option<String>,
    /// How long `tok_slow` takes in the sandbox.
    pub sandbox_slow_delay: Duration,
    /// A payment still pending after this long is looked up at the provider and settled.
    pub pending_recovery_after: Duration,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        Self {
            charge_timeout: Duration::from_secs(10),
            webhook_secret: Secret::new("whsec_local_development_only".to_owned()),
            webhook_tolerance: Duration::from_secs(300),
            webhook_url: None,
            sandbox_slow_delay: Duration::from_secs(3),
            pending_recovery_after: Duration::from_secs(60),
        }
    }
}

impl PaymentConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let webhook_url: String = env_or("TICKETING_PAYMENT_WEBHOOK_URL", String::new())?;
        let config = Self {
            charge_timeout: env_millis("TICKETING_PAYMENT_TIMEOUT_MS", 10_000)?,
            webhook_secret: Secret::new(env_or(
                "TICKETING_PAYMENT_WEBHOOK_SECRET",
                default.webhook_secret.expose().clone(),
            )?),
            webhook_tolerance: env_seconds("TICKETING_PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)?,
            webhook_url: Some(webhook_url).filter(|url| !url.is_empty()),
            sandbox_slow_delay: env_millis("TICKETING_SANDBOX_SLOW_MS", 3_000)?,
            pending_recovery_after: env_seconds("TICKETING_PAYMENT_RECOVERY_SECONDS", 60)?,
        };
        if config.pending_recovery_after <= config.charge_timeout * 2 {
            // Looking a payment up while its charge may still be in flight could call it
            // failed just before the provider charges it.
            return Err(ConfigError::new(
                "TICKETING_PAYMENT_RECOVERY_SECONDS",
                &config.pending_recovery_after.as_secs().to_string(),
                "must be more than twice TICKETING_PAYMENT_TIMEOUT_MS",
            ));
        }
        Ok(config)
    }
}
