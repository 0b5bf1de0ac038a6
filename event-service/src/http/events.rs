//! Event routes: drafting, editing and publishing (owning organiser), the catalog (anyone).

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, ApiQuery, pagination::PageQuery},
};
use contracts::{
    accounts::Role,
    events::{CreateEventRequest, Event, EventPage, UpdateEventRequest},
};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use crate::{flows, storage::events::CatalogFilter};

pub(super) async fn create_event(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<CreateEventRequest>,
) -> Result<(StatusCode, ApiJson<Event>), ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    let event = flows::events::create_event(&state.deps, user.id, request).await?;
    Ok((StatusCode::CREATED, ApiJson(event)))
}

pub(super) async fn update_event(
    State(state): State<AppState>,
    user: AuthUser,
    Path(event_id): Path<Uuid>,
    ApiJson(request): ApiJson<UpdateEventRequest>,
) -> Result<ApiJson<Event>, ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    let event = flows::events::update_event(&state.deps, user.id, event_id, request).await?;
    Ok(ApiJson(event))
}

pub(super) async fn publish_event(
    State(state): State<AppState>,
    user: AuthUser,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<Event>, ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    let event = flows::events::publish_event(&state.deps, user.id, event_id).await?;
    Ok(ApiJson(event))
}

pub(super) async fn cancel_event(
    State(state): State<AppState>,
    user: AuthUser,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<Event>, ApiError> {
    user.require(&[Role::Organiser, Role::Admin])?;
    let event = flows::events::cancel_event(&state.deps, user.id, event_id).await?;
    Ok(ApiJson(event))
}

pub(super) async fn event(
    State(state): State<AppState>,
    viewer: Option<AuthUser>,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<Event>, ApiError> {
    let viewer = viewer.map(|user| user.id);
    Ok(ApiJson(
        flows::events::event(&state.deps, viewer, event_id).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct CatalogQuery {
    q: Option<String>,
    category: Option<String>,
    city: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    to: Option<OffsetDateTime>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn catalog(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<ApiJson<EventPage>, ApiError> {
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .parse(20, 100)?;
    let non_empty = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let (q, category, city) = (
        non_empty(&query.q),
        non_empty(&query.category),
        non_empty(&query.city),
    );
    let filter = CatalogFilter {
        query: q.as_deref(),
        category: category.as_deref(),
        city: city.as_deref(),
        from: query.from,
        to: query.to,
    };
    Ok(ApiJson(
        flows::events::catalog(&state.deps, &filter, page).await?,
    ))
}
