//! The public routes of order-service (axum only). The operational routes (`/healthz`,
//! `/readyz`, `/metrics`) are added around these by `common::http::router`.

mod error;
mod orders;

use axum::{Router, routing::post};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/orders/{id}/cancel", post(orders::cancel))
        .with_state(state)
}
