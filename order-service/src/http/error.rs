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
            OrderError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
