//! Admin-only routes.

use axum::extract::{Path, State};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, ApiQuery, pagination::PageQuery},
};
use contracts::accounts::{Account, AccountPage, ChangeRoleRequest, Role};
use uuid::Uuid;

use super::AppState;
use crate::flows;

pub(super) async fn list_accounts(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<AccountPage>, ApiError> {
    user.require(&[Role::Admin])?;
    let page = query.parse(50, 200)?;
    Ok(ApiJson(
        flows::admin::list_accounts(&state.deps, page).await?,
    ))
}

pub(super) async fn change_role(
    State(state): State<AppState>,
    user: AuthUser,
    Path(account_id): Path<Uuid>,
    ApiJson(request): ApiJson<ChangeRoleRequest>,
) -> Result<ApiJson<Account>, ApiError> {
    user.require(&[Role::Admin])?;
    let account = flows::admin::change_role(&state.deps, account_id, request.role).await?;
    Ok(ApiJson(account))
}
