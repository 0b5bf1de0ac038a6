//! The payment provider's webhook. It is read as raw bytes: the signature covers the body
//! exactly as sent.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use common::http::ApiError;

use super::AppState;
use crate::flows;

/// `POST /v1/payments/webhook`: 200 once applied (or already applied); 400 for a bad or stale
/// signature, which changes nothing.
pub(super) async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    flows::payments::receive_webhook(&state.deps, &headers, &body).await?;
    Ok(StatusCode::OK)
}
