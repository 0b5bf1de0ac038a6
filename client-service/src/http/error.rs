//! The one place client-service chooses a status code for what it answers itself: every
//! `PurchaseError` becomes a problem+json answer here, matched exhaustively.

use axum::http::StatusCode;
use common::http::{ApiError, Problem};
use contracts::ErrorCode;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::flows::{PurchaseError, Refusal};

impl From<PurchaseError> for ApiError {
    fn from(error: PurchaseError) -> Self {
        let problem = match error {
            PurchaseError::Invalid(fields) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                "some fields are invalid; see errors",
            )
            .with_errors(fields),
            PurchaseError::Refused(refusal) => refused(refusal),
            PurchaseError::KeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
                error.to_string(),
            ),
            PurchaseError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                error.to_string(),
            ),
            PurchaseError::Unavailable {
                reason,
                retry_after_seconds,
            } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                reason,
            )
            .with_retry_after(retry_after_seconds),
            PurchaseError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::internal()
            }
        };
        ApiError::Problem(problem)
    }
}

fn refused(refusal: Refusal) -> Problem {
    match refusal {
        Refusal::UnknownEvent => Problem::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such event on sale",
        ),
        Refusal::UnknownTier(tier_id) => {
            invalid("tier_id", format!("{tier_id} is not a tier of this event"))
        }
        Refusal::UnknownSeat(seat_id) => {
            invalid("seat_ids", format!("{seat_id} is not a seat of this event"))
        }
        Refusal::SeatTaken(seat_id) => Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::SeatTaken,
            format!("seat {seat_id} is held or sold"),
        ),
        Refusal::SoldOut(tier_id) => Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::SoldOut,
            format!("not enough places left in tier {tier_id}"),
        ),
        Refusal::NotOpen(opens_at) => {
            let seconds = (opens_at - OffsetDateTime::now_utc())
                .whole_seconds()
                .max(1);
            let opens_at = opens_at.format(&Rfc3339).unwrap_or_default();
            Problem::new(
                StatusCode::TOO_EARLY,
                ErrorCode::SalesNotOpen,
                format!("sales open at {opens_at}"),
            )
            .with_retry_after(seconds.unsigned_abs())
        }
        Refusal::Closed => Problem::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SalesClosed,
            "sales of this event have closed",
        ),
        Refusal::OverLimit { allowance } => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PurchaseLimitExceeded,
            format!("over the per-buyer limit of this event: {allowance} more place(s) allowed"),
        ),
    }
}

fn invalid(field: &str, message: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
        "some fields are invalid; see errors",
    )
    .with_errors([(field.to_owned(), message)].into())
}
