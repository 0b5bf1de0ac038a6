//! The holder's tickets and their documents.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, ApiQuery, Problem, pagination::PageQuery},
};
use contracts::tickets::{TicketPage, TicketView};
use uuid::Uuid;

use super::AppState;
use crate::flows;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// `GET /v1/tickets`: the caller's tickets, newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<TicketPage>, ApiError> {
    let page = query.parse(DEFAULT_PAGE, MAX_PAGE)?;
    Ok(ApiJson(
        flows::tickets::list(&state.deps, user.id, page).await?,
    ))
}

/// `GET /v1/tickets/{id}`: one of the caller's tickets.
pub(super) async fn ticket(
    State(state): State<AppState>,
    user: AuthUser,
    Path(ticket_id): Path<Uuid>,
) -> Result<ApiJson<TicketView>, ApiError> {
    Ok(ApiJson(
        flows::tickets::ticket(&state.deps, user.id, ticket_id).await?,
    ))
}

/// `GET /v1/tickets/{id}/document`: 302 to a short-lived S3 link of the PDF.
pub(super) async fn document(
    State(state): State<AppState>,
    user: AuthUser,
    Path(ticket_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let link = flows::tickets::document_link(&state.deps, user.id, ticket_id).await?;
    let location = HeaderValue::from_str(&link).map_err(|_| Problem::internal())?;
    // The link is the caller's alone and expires: nobody may keep it.
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}
