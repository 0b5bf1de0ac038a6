//! Registration, the caller's own profile, and the internal contact lookup.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson},
};
use contracts::accounts::{
    Account, ContactDetails, ContactsLookup, ContactsLookupRequest, RegisterAccountRequest,
    UpdateProfileRequest,
};
use uuid::Uuid;

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

pub(super) async fn contact_details(
    State(state): State<AppState>,
    Path(account_id): Path<Uuid>,
) -> Result<ApiJson<ContactDetails>, ApiError> {
    let contacts = flows::accounts::contact_details_of(&state.deps, account_id).await?;
    Ok(ApiJson(contacts))
}

pub(super) async fn look_up_contacts(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ContactsLookupRequest>,
) -> Result<ApiJson<ContactsLookup>, ApiError> {
    let contacts = flows::accounts::contact_details(&state.deps, &request.account_ids).await?;
    Ok(ApiJson(ContactsLookup { contacts }))
}
