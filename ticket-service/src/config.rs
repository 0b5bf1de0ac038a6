//! The one typed configuration of ticket-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, S3Config, log_format_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub amqp: AmqpConfig,
    pub s3: S3Config,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env("TICKET", 8084)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("TICKET", "tickets")?,
            amqp: AmqpConfig::from_env()?,
            s3: S3Config::from_env()?,
        })
    }
}
