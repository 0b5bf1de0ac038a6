//! Registration, the caller's own profile, and the internal contact lookup.

use axum::{extract::State, http::StatusCode};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson},
};
use contracts::accounts::{
    Account, ContactsLookup, ContactsLookupRequest, RegisterAccountRequest, UpdateProfileRequest,
};

use super::AppState;
use crate::flows;

pub(super) async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterAccountRequest>,
) -> Result<(StatusCode, ApiJson<Account>), ApiError> {
    let account = flows::accounts::register(&state.deps, request).await?;
    Ok((StatusCode::CREATED, ApiJson(account)))
}

pub(super) async fn me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<ApiJson<Account>, ApiError> {
    Ok(ApiJson(
        flows::accounts::profile(&state.deps, user.id).await?,
    ))
}

pub(super) async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<UpdateProfileRequest>,
) -> Result<ApiJson<Account>, ApiError> {
    let account = flows::accounts::update_profile(&state.deps, user.id, request).await?;
    Ok(ApiJson(account))
}

pub(super) async fn look_up_contacts(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ContactsLookupRequest>,
) -> Result<ApiJson<ContactsLookup>, ApiError> {
    let contacts = flows::accounts::contact_details(&state.deps, &request.account_ids).await?;
    Ok(ApiJson(ContactsLookup { contacts }))
}
