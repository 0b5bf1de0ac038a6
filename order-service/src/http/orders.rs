//! A buyer's orders.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use common::{auth::AuthUser, http::ApiError};
use uuid::Uuid;

use super::AppState;
use crate::flows;

/// `POST /v1/orders/{id}/cancel`: gives a reserved order's places back. Someone else's order,
/// or one that is not reserved, is a 404.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    flows::holds::cancel(&state.deps, order_id, user.id).await?;
    Ok(StatusCode::OK)
}
