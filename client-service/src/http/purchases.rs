//! `POST /v1/purchases`, `GET /v1/purchases/{id}` and its server-sent-events stream.

use std::convert::Infallible;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, IdempotencyKey},
};
use contracts::{
    accounts::Role,
    purchases::{PurchaseAccepted, PurchaseRequest, PurchaseView},
};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::AppState;
use crate::flows::purchases;

pub(super) async fn request_purchase(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<PurchaseRequest>,
) -> Result<(StatusCode, ApiJson<PurchaseAccepted>), ApiError> {
    user.require(&[Role::Buyer, Role::Admin])?;
    let accepted =
        purchases::request_purchase(&state.deps, user.id, key.as_str(), &request).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(accepted)))
}

pub(super) async fn purchase(
    State(state): State<AppState>,
    user: AuthUser,
    Path(purchase_id): Path<Uuid>,
) -> Result<ApiJson<PurchaseView>, ApiError> {
    Ok(ApiJson(
        purchases::purchase(&state.deps, user.id, purchase_id).await?,
    ))
}

/// The current status at once, then each change, until a terminal status.
pub(super) async fn stream(
    State(state): State<AppState>,
    user: AuthUser,
    Path(purchase_id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // Watch before reading, so that no change falls between the two.
    let updates = state.deps.updates.watch(purchase_id);
    let current = purchases::purchase(&state.deps, user.id, purchase_id).await?;
    let later = futures::stream::unfold(
        (updates, current.status.rank()),
        |(mut updates, mut rank)| async move {
            loop {
                match updates.recv().await {
                    Ok(view) if view.status.rank() > rank => {
                        rank = view.status.rank();
                        return Some((view, (updates, rank)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    let done = current.status.is_terminal();
    let views = futures::stream::once(async move { current })
        .chain(later.take_while(move |_| std::future::ready(!done)))
        .scan(false, |ended, view| {
            if *ended {
                return std::future::ready(None);
            }
            *ended = view.status.is_terminal();
            std::future::ready(Some(view))
        });
    let events = views.map(|view| {
        Ok(SseEvent::default()
            .event("purchase")
            .json_data(&view)
            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable status")))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
