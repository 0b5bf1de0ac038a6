//! The one typed configuration of account-service, read from `TICKETING_*` environment
//! variables in `main` (defaults: the local stack) and passed down explicitly.

use std::{path::PathBuf, time::Duration};

use common::config::{
    ConfigError, HttpConfig, LogFormat, PostgresConfig, RedisConfig, TokenVerificationConfig,
    env_or, env_seconds, log_format_from_env,
};
use common::signing_keys::SigningKeySource;

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub tokens: TokenConfig,
    pub passwords: PasswordConfig,
    pub login_throttle: LoginThrottleConfig,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub verification: TokenVerificationConfig,
    pub signing_key: SigningKeySource,
    /// Public keys (PEM files) still accepted and published, e.g. the previous key during a
    /// rotation.
    pub extra_public_key_files: Vec<PathBuf>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

/// argon2id cost; the defaults are OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; more would only queue on the CPU and starve other work.
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone)]
pub struct LoginThrottleConfig {
    pub max_failures_per_email: u32,
    pub max_failures_per_address: u32,
    pub window: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let signing_key = SigningKeySource::from_env(
            "TICKETING_JWT_SIGNING_KEY",
            "TICKETING_JWT_SIGNING_KEY_FILE",
            "jwt-signing-key.pem",
        )?;
        let extra_public_key_files = env_or("TICKETING_JWT_EXTRA_PUBLIC_KEY_FILES", String::new())?
            .split(',')
            .map(str::trim)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .collect();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            http: HttpConfig::from_env("ACCOUNT", 8081)?,
            log_format: log_format_from_env()?,
            postgres: PostgresConfig::from_env("ACCOUNT", "accounts")?,
            redis: RedisConfig::from_env()?,
            tokens: TokenConfig {
                verification: TokenVerificationConfig::from_env()?,
                signing_key,
                extra_public_key_files,
                access_token_ttl: env_seconds("TICKETING_ACCESS_TOKEN_TTL_SECONDS", 15 * 60)?,
                refresh_token_ttl: env_seconds(
                    "TICKETING_REFRESH_TOKEN_TTL_SECONDS",
                    30 * 24 * 3600,
                )?,
            },
            passwords: PasswordConfig {
                memory_kib: env_or("TICKETING_ARGON2_MEMORY_KIB", 19_456)?,
                iterations: env_or("TICKETING_ARGON2_ITERATIONS", 2)?,
                parallelism: env_or("TICKETING_ARGON2_PARALLELISM", 1)?,
                max_concurrent_hashes: env_or("TICKETING_ARGON2_MAX_CONCURRENT_HASHES", cores)?,
            },
            login_throttle: LoginThrottleConfig {
                max_failures_per_email: env_or("TICKETING_LOGIN_MAX_FAILURES_PER_EMAIL", 5)?,
                max_failures_per_address: env_or("TICKETING_LOGIN_MAX_FAILURES_PER_ADDRESS", 50)?,
                window: env_seconds("TICKETING_LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)?,
            },
        })
    }
}
