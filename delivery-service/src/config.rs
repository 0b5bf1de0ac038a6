//! The one typed configuration of delivery-service, read from `TICKETING_*` environment
//! variables in `main` (defaults: the local stack, with no outside service) and passed down
//! explicitly.

use std::{path::PathBuf, time::Duration};

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, Secret,
    TokenVerificationConfig, env_millis, env_or, env_seconds, log_format_from_env,
    state_dir_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub amqp: AmqpConfig,
    pub tokens: TokenVerificationConfig,
    pub delivery: DeliveryConfig,
}

/// Where email goes.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// `.eml` files in a folder (development: nothing leaves the machine).
    Folder(PathBuf),
    /// An SMTP server, as a lettre URL: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS).
    Smtp(Secret<String>),
}

/// Where SMS go.
#[derive(Debug, Clone)]
pub enum SmsTransport {
    /// One JSON line per message in a file (development).
    Log(PathBuf),
    /// A provider's HTTP API: form-encoded `To`, `From`, `Body` posted to `url` with the token
    /// as HTTP basic auth, as Twilio's Messages API takes them.
    Http {
        url: String,
        account: String,
        token: Secret<String>,
    },
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub email: EmailTransport,
    pub email_from: String,
    pub sms: SmsTransport,
    pub sms_from: String,
    /// account-service, for buyers' contacts.
    pub account_url: String,
    /// The public API, for links in messages (ticket downloads).
    pub public_url: String,
    /// Sends tried per notification before it is marked failed.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt (with jitter) up to `retry_max_delay`.
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
    /// How often due notifications are looked for when nothing wakes the sender.
    pub send_interval: Duration,
    /// Longest wait for one send.
    pub send_timeout: Duration,
    /// Messages the broker sends ahead; they are written in batches of up to 100, one
    /// contacts lookup and one transaction each.
    pub prefetch_count: u16,
    /// Notices written (and so sent) per second at most, 0 for no limit: see `flows::pacing`.
    pub max_notices_per_second: u32,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let state = state_dir_from_env()?;
        let smtp_url = env_or("TICKETING_SMTP_URL", String::new())?;
        let email = if smtp_url.is_empty() {
            EmailTransport::Folder(env_or("TICKETING_EMAIL_DIR", state.join("mail"))?)
        } else {
            EmailTransport::Smtp(Secret::new(smtp_url))
        };
        let sms_url = env_or("TICKETING_SMS_URL", String::new())?;
        let sms = if sms_url.is_empty() {
            SmsTransport::Log(env_or("TICKETING_SMS_LOG", state.join("sms.log"))?)
        } else {
            SmsTransport::Http {
                url: sms_url,
                account: env_or("TICKETING_SMS_ACCOUNT", String::new())?,
                token: Secret::new(env_or("TICKETING_SMS_TOKEN", String::new())?),
            }
        };
        Ok(Self {
            http: HttpConfig::from_env("DELIVERY", 8085)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("DELIVERY", "delivery")?,
            amqp: AmqpConfig::from_env()?,
            tokens: TokenVerificationConfig::from_env()?,
            delivery: DeliveryConfig {
                email,
                email_from: env_or(
                    "TICKETING_EMAIL_FROM",
                    "Ticketing <tickets@localhost>".to_owned(),
                )?,
                sms,
                sms_from: env_or("TICKETING_SMS_FROM", "Ticketing".to_owned())?,
                account_url: env_or("TICKETING_ACCOUNT_URL", "http://127.0.0.1:8081".to_owned())?,
                public_url: env_or("TICKETING_PUBLIC_URL", "http://127.0.0.1:8080".to_owned())?,
                max_attempts: env_or("TICKETING_DELIVERY_MAX_ATTEMPTS", 8)?,
                retry_base_delay: env_millis("TICKETING_DELIVERY_RETRY_BASE_MS", 1_000)?,
                retry_max_delay: env_seconds("TICKETING_DELIVERY_RETRY_MAX_SECONDS", 600)?,
                send_interval: env_millis("TICKETING_DELIVERY_SEND_INTERVAL_MS", 500)?,
                send_timeout: env_seconds("TICKETING_DELIVERY_SEND_TIMEOUT_SECONDS", 15)?,
                prefetch_count: env_or("TICKETING_DELIVERY_PREFETCH", 200)?,
                max_notices_per_second: env_or("TICKETING_DELIVERY_MAX_NOTICES_PER_SECOND", 500)?,
            },
        })
    }
}
