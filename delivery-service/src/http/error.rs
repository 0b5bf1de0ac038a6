//! The one place delivery-service chooses a status code, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;

use crate::flows::DeliveryError;

impl From<DeliveryError> for ApiError {
    fn from(error: DeliveryError) -> Self {
        let problem = match &error {
            DeliveryError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            DeliveryError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}
