//! Reading configuration from environment variables: one naming scheme (`TICKETING_*`) for all
//! services, defaults that work against the local stack, and typed settings for each kind of
//! dependency. Each service composes these into its own `Config`, read once in `main`.

use std::{fmt, net::IpAddr, str::FromStr, time::Duration};

/// A configuration value that must not be printed (passwords, keys, URLs with credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    name: String,
    value: String,
    reason: String,
}

impl ConfigError {
    /// A value that parsed but breaks a rule of the service (a bound, a relation to another).
    pub fn new(name: &str, value: &str, reason: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// Reads `name`, falling back to `default` when it is unset or empty.
pub fn env_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            value.trim().parse().map_err(|error: T::Err| ConfigError {
                name: name.to_owned(),
                value,
                reason: error.to_string(),
            })
        }
        _ => Ok(default),
    }
}

/// Reads a duration given in whole seconds (the variable's name should end in `_SECONDS`).
pub fn env_seconds(name: &str, default_seconds: u64) -> Result<Duration, ConfigError> {
    env_or(name, default_seconds).map(Duration::from_secs)
}

/// Reads a duration given in milliseconds (the variable's name should end in `_MS`).
pub fn env_millis(name: &str, default_millis: u64) -> Result<Duration, ConfigError> {
    env_or(name, default_millis).map(Duration::from_millis)
}

/// Where a service's HTTP server listens. Port 0 asks the OS for a free port (tests).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub host: IpAddr,
    pub port: u16,
    /// Requests running longer than this are answered 503 and dropped.
    pub request_timeout: Duration,
}

impl HttpConfig {
    /// `TICKETING_<SERVICE>_PORT` and the shared `TICKETING_HTTP_HOST`.
    pub fn from_env(service_env_prefix: &str, default_port: u16) -> Result<Self, ConfigError> {
        Ok(Self {
            host: env_or("TICKETING_HTTP_HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env_or(
                &format!("TICKETING_{service_env_prefix}_PORT"),
                default_port,
            )?,
            request_timeout: env_seconds("TICKETING_HTTP_REQUEST_TIMEOUT_SECONDS", 30)?,
        })
    }
}

/// How logs are written: human-readable text, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("expected `text` or `json`, got `{other}`")),
        }
    }
}

/// `TICKETING_LOG_FORMAT`: `text` (default) or `json`.
pub fn log_format_from_env() -> Result<LogFormat, ConfigError> {
    env_or("TICKETING_LOG_FORMAT", LogFormat::Text)
}

/// How every service verifies access tokens: who must have issued them, for whom, and where
/// the public keys are.
#[derive(Debug, Clone)]
pub struct TokenVerificationConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// A token naming an unknown key fetches the JWKS again at most this often, so that
    /// forged key ids cannot flood account-service. A new key should be published at least
    /// this long before tokens are signed with it.
    pub jwks_min_refresh_interval: Duration,
}

impl TokenVerificationConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: env_or(
                "TICKETING_JWT_ISSUER",
                "ticketing-account-service".to_owned(),
            )?,
            audience: env_or("TICKETING_JWT_AUDIENCE", "ticketing".to_owned())?,
            jwks_url: env_or(
                "TICKETING_JWKS_URL",
                "http://127.0.0.1:8081/.well-known/jwks.json".to_owned(),
            )?,
            jwks_min_refresh_interval: env_seconds("TICKETING_JWKS_MIN_REFRESH_SECONDS", 5)?,
        })
    }
}

/// Where the running checkout keeps local state (development keys among it).
pub fn state_dir_from_env() -> Result<std::path::PathBuf, ConfigError> {
    env_or("TICKETING_STATE_DIR", std::path::PathBuf::from(".local"))
}

/// A Postgres server and the one database a service owns on it.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Server URL without a database name; credentials are redacted in Debug.
    pub server_url: Secret<String>,
    pub database: String,
    pub max_connections: usize,
    pub connect_timeout: Duration,
}

impl PostgresConfig {
    pub fn from_env(service_env_prefix: &str, default_database: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            server_url: Secret::new(env_or(
                "TICKETING_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432".to_owned(),
            )?),
            database: env_or(
                &format!("TICKETING_{service_env_prefix}_DATABASE"),
                default_database.to_owned(),
            )?,
            max_connections: env_or(
                &format!("TICKETING_{service_env_prefix}_POSTGRES_MAX_CONNECTIONS"),
                16,
            )?,
            connect_timeout: env_seconds("TICKETING_POSTGRES_CONNECT_TIMEOUT_SECONDS", 5)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: Secret<String>,
    /// Prepended to every key, so that tests (and several deployments) can share one server.
    pub key_prefix: String,
    pub response_timeout: Duration,
}

impl RedisConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            url: Secret::new(env_or(
                "TICKETING_REDIS_URL",
                "redis://127.0.0.1:6379".to_owned(),
            )?),
            key_prefix: env_or("TICKETING_REDIS_KEY_PREFIX", "ticketing".to_owned())?,
            response_timeout: env_millis("TICKETING_REDIS_RESPONSE_TIMEOUT_MS", 2_000)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct AmqpConfig {
    pub url: Secret<String>,
    /// Prefix of every exchange and queue name, so that tests get their own topology.
    pub namespace: String,
    /// How long a publish may wait for the broker's confirm before it counts as failed.
    pub publish_confirm_timeout: Duration,
    /// How many times a message may be delivered before it is dead-lettered.
    pub delivery_limit: u32,
    /// Queues purchase requests are spread over by event; publishers and consumers must agree.
    pub purchase_queue_shards: u16,
    /// How long published outbox rows are kept (for operators to look into) before the relay
    /// deletes them.
    pub outbox_retention: Duration,
}

impl AmqpConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            url: Secret::new(env_or(
                "TICKETING_AMQP_URL",
                "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            )?),
            namespace: env_or("TICKETING_AMQP_NAMESPACE", "ticketing".to_owned())?,
            publish_confirm_timeout: env_millis(
                "TICKETING_AMQP_PUBLISH_CONFIRM_TIMEOUT_MS",
                5_000,
            )?,
            delivery_limit: env_or("TICKETING_AMQP_DELIVERY_LIMIT", 5)?,
            purchase_queue_shards: env_or("TICKETING_PURCHASE_QUEUE_SHARDS", 2)?,
            outbox_retention: Duration::from_secs(
                3600 * env_or::<u64>("TICKETING_OUTBOX_RETENTION_HOURS", 168)?,
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub bucket: String,
}

impl S3Config {
    /// Defaults match the local Garage store that `scripts/up` starts.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            endpoint: env_or("TICKETING_S3_ENDPOINT", "http://127.0.0.1:3900".to_owned())?,
            region: env_or("TICKETING_S3_REGION", "garage".to_owned())?,
            access_key_id: env_or(
                "TICKETING_S3_ACCESS_KEY_ID",
                "GK7469636b6574696e672d6465".to_owned(),
            )?,
            secret_access_key: Secret::new(env_or(
                "TICKETING_S3_SECRET_ACCESS_KEY",
                "6c6f63616c2d646576656c6f706d656e742d6f6e6c792d6e6f742d612d736563".to_owned(),
            )?),
            bucket: env_or("TICKETING_S3_BUCKET", "tickets".to_owned())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_output() {
        let config = PostgresConfig {
            server_url: Secret::new("postgres://user:hunter2@db".to_owned()),
            database: "orders".to_owned(),
            max_connections: 4,
            connect_timeout: Duration::from_secs(1),
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("orders"));
    }

    #[test]
    fn log_format_rejects_unknown_values() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
