//! The one place account-service chooses a status code: every `AccountError` becomes a
//! problem+json answer here, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;

use crate::flows::AccountError;

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        let problem = match &error {
            AccountError::Invalid(fields) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                "some fields are invalid; see errors",
            )
            .with_errors(fields.clone()),
            AccountError::EmailTaken => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::EmailTaken,
                error.to_string(),
            ),
            AccountError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                error.to_string(),
            ),
            AccountError::TooManyAttempts {
                retry_after_seconds,
            } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "too many failed sign-in attempts; try again later",
            )
            .with_retry_after(*retry_after_seconds),
            AccountError::InvalidRefreshToken => Problem::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                error.to_string(),
            ),
            AccountError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            AccountError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
