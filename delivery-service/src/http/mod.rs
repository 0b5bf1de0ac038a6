//! The routes of delivery-service (axum only): the buyer's history (public, through
//! client-service) and the operators' view of failures (internal, not routed by
//! client-service). The operational routes are added around these by `common::http::router`.

mod error;
mod notifications;

use axum::{
    Router,
    routing::{get, post},
};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/notifications", get(notifications::list))
        .route(
            "/internal/v1/notifications/failed",
            get(notifications::failures),
        )
        .route(
            "/internal/v1/notifications/{id}/retry",
            post(notifications::retry),
        )
        .with_state(state)
}
