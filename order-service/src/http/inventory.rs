//! An event's inventory as Postgres holds it.

use axum::extract::{Path, State};
use common::http::{ApiError, ApiJson};
use contracts::events::EventInventory;
use uuid::Uuid;

use super::AppState;
use crate::flows;

/// `GET /internal/v1/events/{id}/inventory`; 404 until the event's inventory is built.
pub(super) async fn inventory(
    State(state): State<AppState>,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<EventInventory>, ApiError> {
    Ok(ApiJson(
        flows::inventory::inventory(&state.deps, event_id).await?,
    ))
}
