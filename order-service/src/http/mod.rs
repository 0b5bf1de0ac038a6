//! The public routes of order-service (axum only), plus the internal inventory read that
//! event-service uses. The operational routes (`/healthz`, `/readyz`, `/metrics`) are added
//! around these by `common::http::router`.

mod error;
mod inventory;
mod orders;
mod payments;

use axum::{
    Router,
    routing::{get, post},
};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/orders", get(orders::list))
        .route("/v1/orders/{id}", get(orders::order))
        .route("/v1/orders/{id}/payment", post(orders::pay))
        .route("/v1/orders/{id}/cancel", post(orders::cancel))
        .route("/v1/payments/webhook", post(payments::webhook))
        // Internal: not routed by client-service; event-service reads seat states and, when
        // the Redis counters are missing, the numbers here.
        .route(
            "/internal/v1/events/{id}/inventory",
            get(inventory::inventory),
        )
        .with_state(state)
}
