//! The one typed configuration of ticket-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use std::time::Duration;

use common::{
    config::{
        AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, S3Config,
        TokenVerificationConfig, env_millis, env_or, env_seconds, log_format_from_env,
    },
    signing_keys::SigningKeySource,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub amqp: AmqpConfig,
    pub s3: S3Config,
    pub tokens: TokenVerificationConfig,
    pub tickets: TicketConfig,
}

/// How tickets are signed, rendered and handed out.
#[derive(Debug, Clone)]
pub struct TicketConfig {
    /// Signs ticket codes; its public key is what offline scanners need.
    pub signing_key: SigningKeySource,
    /// How long a download link works.
    pub download_link_ttl: Duration,
    /// Documents rendered at once (CPU-bound: about the number of cores).
    pub render_concurrency: usize,
    /// Paid orders taken from the queue ahead, and handled at once.
    pub prefetch_count: u16,
    /// event-service, for what tickets print.
    pub event_url: String,
    /// account-service, for holders' names.
    pub account_url: String,
    pub upstream_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            http: HttpConfig::from_env("TICKET", 8084)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("TICKET", "tickets")?,
            amqp: AmqpConfig::from_env()?,
            s3: S3Config::from_env()?,
            tokens: TokenVerificationConfig::from_env()?,
            tickets: TicketConfig {
                signing_key: SigningKeySource::from_env(
                    "TICKETING_TICKET_SIGNING_KEY",
                    "TICKETING_TICKET_SIGNING_KEY_FILE",
                    "ticket-signing-key.pem",
                )?,
                download_link_ttl: env_seconds("TICKETING_TICKET_LINK_SECONDS", 300)?,
                render_concurrency: env_or("TICKETING_TICKET_RENDER_CONCURRENCY", cores)?,
                prefetch_count: env_or("TICKETING_TICKET_PREFETCH", 32)?,
                event_url: env_or("TICKETING_EVENT_URL", "http://127.0.0.1:8082".to_owned())?,
                account_url: env_or("TICKETING_ACCOUNT_URL", "http://127.0.0.1:8081".to_owned())?,
                upstream_timeout: env_millis("TICKETING_TICKET_UPSTREAM_TIMEOUT_MS", 5_000)?,
            },
        })
    }
}
