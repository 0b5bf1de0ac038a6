//! Live availability: a snapshot, or a server-sent-events stream of snapshots as they change.

use std::convert::Infallible;

use axum::{
    extract::{Path, State},
    response::sse::{Event as SseEvent, KeepAlive, Sse},
};
use common::{http::ApiError, http::ApiJson};
use contracts::events::{Availability, EventPlaces, SeatMap};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use super::AppState;
use crate::flows;

pub(super) async fn availability(
    State(state): State<AppState>,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<Availability>, ApiError> {
    Ok(ApiJson(
        flows::availability::availability(&state.deps, event_id).await?,
    ))
}

/// `GET /v1/events/{id}/seats`: every seat with its tier and state.
pub(super) async fn seats(
    State(state): State<AppState>,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<SeatMap>, ApiError> {
    Ok(ApiJson(
        flows::seats::seat_map(&state.deps, event_id).await?,
    ))
}

/// Internal `GET /internal/v1/events/{id}/places`: the label of every place, for tickets.
pub(super) async fn places(
    State(state): State<AppState>,
    Path(event_id): Path<Uuid>,
) -> Result<ApiJson<EventPlaces>, ApiError> {
    Ok(ApiJson(flows::seats::places(&state.deps, event_id).await?))
}

/// The current snapshot at once, then one `availability` event per change (coalesced by the
/// hub's interval), until the client leaves or the service stops.
pub(super) async fn stream(
    State(state): State<AppState>,
    Path(event_id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let event = flows::events::event(&state.deps, None, event_id).await?;
    let hub = &state.deps.availability;
    let receiver = hub.watch(event).await?;
    let snapshots = futures::stream::unfold((receiver, true), |(mut receiver, first)| async move {
        if !first && receiver.changed().await.is_err() {
            return None;
        }
        let snapshot = receiver.borrow_and_update().clone();
        Some((snapshot, (receiver, false)))
    });
    let events = snapshots
        .map(|snapshot| {
            Ok(SseEvent::default()
                .event("availability")
                .json_data(&snapshot)
                .unwrap_or_else(|_| SseEvent::default().comment("unserialisable snapshot")))
        })
        .take_until(hub.shutdown().clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
