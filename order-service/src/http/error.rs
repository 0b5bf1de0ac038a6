//! The one place order-service chooses a status code: every `OrderError` becomes a
//! problem+json answer here, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;

use crate::flows::OrderError;

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        let problem = match &error {
            OrderError::NotFound | OrderError::UnknownEvent => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            OrderError::WrongState(_) | OrderError::EventCancelled => {
                Problem::new(StatusCode::CONFLICT, ErrorCode::Conflict, error.to_string())
            }
            OrderError::Declined(_) => Problem::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorCode::PaymentDeclined,
                error.to_string(),
            ),
            OrderError::HoldExpired | OrderError::RefundedAfterExpiry => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::HoldExpired,
                error.to_string(),
            ),
            OrderError::AlreadyPaid => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::AlreadyPaid,
                error.to_string(),
            ),
            OrderError::PaymentInProgress => Problem::new(
                StatusCode::CONFLICT,
                ErrorCode::PaymentInProgress,
                error.to_string(),
            ),
            OrderError::Busy => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                error.to_string(),
            )
            .with_retry_after(1),
            OrderError::PaymentPending => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                error.to_string(),
            )
            .with_retry_after(2),
            OrderError::PaymentFailed => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                error.to_string(),
            ),
            OrderError::KeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
                error.to_string(),
            ),
            OrderError::InvalidWebhook(_) => Problem::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidSignature,
                error.to_string(),
            ),
            OrderError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
