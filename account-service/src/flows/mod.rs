//! The use cases of account-service, one file each. Flows own transactions; HTTP handlers call
//! exactly one flow and map its outcome.

pub mod accounts;
pub mod admin;
pub mod sessions;

use std::sync::Arc;

use common::{postgres::Database, redis::RedisStore};

use crate::{
    config::LoginThrottleConfig, domain::FieldErrors, passwords::Passwords, tokens::TokenIssuer,
};

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub redis: RedisStore,
    pub passwords: Passwords,
    pub tokens: Arc<TokenIssuer>,
    pub login_throttle: LoginThrottleConfig,
}

/// Business outcomes other than success; `http::error` maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for AccountError {
    fn from(error: tokio_postgres::Error) -> Self {
        AccountError::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for AccountError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        AccountError::Internal(error.into())
    }
}

impl From<crate::storage::accounts::WriteError> for AccountError {
    fn from(error: crate::storage::accounts::WriteError) -> Self {
        match error {
            crate::storage::accounts::WriteError::EmailTaken => AccountError::EmailTaken,
            crate::storage::accounts::WriteError::Database(error) => error.into(),
        }
    }
}
