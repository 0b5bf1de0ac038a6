//! The one place event-service chooses a status code: every `EventError` becomes a
//! problem+json answer here, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;

use crate::flows::EventError;

impl From<EventError> for ApiError {
    fn from(error: EventError) -> Self {
        let problem = match &error {
            EventError::Invalid(fields) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                "some fields are invalid; see errors",
            )
            .with_errors(fields.clone()),
            EventError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            EventError::Published | EventError::NotPublished | EventError::Cancelled => {
                Problem::new(StatusCode::CONFLICT, ErrorCode::Conflict, error.to_string())
            }
            EventError::Unavailable(reason) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                *reason,
            )
            .with_retry_after(1),
            EventError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
