//! Scanning tickets at the door, and naming who may.

use axum::{extract::State, http::StatusCode};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson},
};
use contracts::{
    accounts::Role,
    tickets::{Admission, CheckinRequest, CheckinStaffRequest},
};

use super::AppState;
use crate::flows;

/// `POST /v1/checkins`: 200 admitted (the first time only); 409 used or revoked; 422 forged,
/// altered or someone else's event.
pub(super) async fn check_in(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<CheckinRequest>,
) -> Result<ApiJson<Admission>, ApiError> {
    Ok(ApiJson(
        flows::checkins::check_in(&state.deps, &user, &request.code).await?,
    ))
}

/// `POST /v1/checkin-staff`: the event's organiser names door staff; 204.
pub(super) async fn add_staff(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<CheckinStaffRequest>,
) -> Result<StatusCode, ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    flows::checkins::add_staff(&state.deps, &user, request.event_id, request.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
