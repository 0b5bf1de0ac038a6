//! The public routes of ticket-service (axum only). The operational routes (`/healthz`,
//! `/readyz`, `/metrics`) are added around these by `common::http::router`.

mod checkins;
mod error;
mod tickets;

use axum::{
    Router,
    routing::{get, post},
};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/tickets", get(tickets::list))
        .route("/v1/tickets/{id}", get(tickets::ticket))
        .route("/v1/tickets/{id}/document", get(tickets::document))
        .route("/v1/checkins", post(checkins::check_in))
        .route("/v1/checkin-staff", post(checkins::add_staff))
        .with_state(state)
}
