//! The delivery log over HTTP.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, ApiQuery, pagination::PageQuery},
};
use contracts::notifications::{NotificationPage, NotificationView};
use uuid::Uuid;

use super::AppState;
use crate::flows::history;

/// `GET /v1/notifications`: the caller's notifications, newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<NotificationPage>, ApiError> {
    let page = query.parse(20, 100)?;
    Ok(ApiJson(history::list(&state.deps, user.id, page).await?))
}

/// Internal `GET /internal/v1/notifications/failed`: what could not be delivered, and why.
pub(super) async fn failures(
    State(state): State<AppState>,
) -> Result<ApiJson<Vec<NotificationView>>, ApiError> {
    Ok(ApiJson(history::failures(&state.deps).await?))
}

/// Internal `POST /internal/v1/notifications/{id}/retry`: sends a failed notification again.
pub(super) async fn retry(
    State(state): State<AppState>,
    Path(notification_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    history::retry(&state.deps, notification_id).await?;
    Ok(StatusCode::ACCEPTED)
}
