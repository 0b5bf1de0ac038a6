//! The `Idempotency-Key` header of creating POSTs (purchases, payments): required, and
//! bounded in length, so that a key can be stored and compared as it is.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
};
use contracts::ErrorCode;

use super::Problem;

const HEADER: &str = "idempotency-key";
/// Long enough for any UUID or ULID a client makes, short enough to store as it is.
const MAX_KEY_BYTES: usize = 255;

/// The caller's `Idempotency-Key`. Missing is 400; empty, too long or not visible ASCII is
/// 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(HEADER).ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MissingHeader,
                "an Idempotency-Key header is required",
            )
        })?;
        let key = value
            .to_str()
            .ok()
            .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_BYTES)
            .filter(|key| key.bytes().all(|byte| byte.is_ascii_graphic()))
            .ok_or_else(|| {
                let message = format!("must be 1 to {MAX_KEY_BYTES} visible ASCII characters");
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::ValidationFailed,
                    format!("Idempotency-Key {message}"),
                )
                .with_errors([("Idempotency-Key".to_owned(), message)].into())
            })?;
        Ok(Self(key.to_owned()))
    }
}
