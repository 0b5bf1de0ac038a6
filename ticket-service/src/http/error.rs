//! The one place ticket-service chooses a status code: every `TicketError` becomes a
//! problem+json answer here, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;

use crate::flows::TicketError;

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> Self {
        let problem = match &error {
            TicketError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            TicketError::InvalidCode => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidTicket,
                error.to_string(),
            ),
            TicketError::AlreadyUsed(_) => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::TicketUsed,
                error.to_string(),
            ),
            TicketError::Revoked => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::TicketRevoked,
                error.to_string(),
            ),
            TicketError::NotReady => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                error.to_string(),
            )
            .with_retry_after(1),
            TicketError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
