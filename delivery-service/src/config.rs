//! The one typed configuration of delivery-service, read from `TICKETING_*` environment variables
//! in `main` (defaults: the local stack) and passed down explicitly.

use common::config::{
    AmqpConfig, ConfigError, HttpConfig, LogFormat, PostgresConfig, log_format_from_env,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub amqp: AmqpConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env("DELIVERY", 8085)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("DELIVERY", "delivery")?,
            amqp: AmqpConfig::from_env()?,
        })
    }
}
