//! Venue routes (organisers).

use axum::{extract::State, http::StatusCode};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson},
};
use contracts::{
    accounts::Role,
    events::{CreateVenueRequest, Venue},
};

use super::AppState;
use crate::flows;

pub(super) async fn create_venue(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<CreateVenueRequest>,
) -> Result<(StatusCode, ApiJson<Venue>), ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    let venue = flows::venues::create_venue(&state.deps, user.id, request).await?;
    Ok((StatusCode::CREATED, ApiJson(venue)))
}
