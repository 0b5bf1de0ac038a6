//! The public routes of event-service (axum only). The operational routes are added around
//! these by `common::http::router`.

mod availability;
mod error;
mod events;
mod venues;

use axum::{
    Router,
    routing::{get, post},
};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/venues", post(venues::create_venue))
        .route(
            "/v1/events",
            post(events::create_event).get(events::catalog),
        )
        .route(
            "/v1/events/{id}",
            get(events::event).patch(events::update_event),
        )
        .route("/v1/events/{id}/publish", post(events::publish_event))
        .route("/v1/events/{id}/cancel", post(events::cancel_event))
        .route(
            "/v1/events/{id}/availability",
            get(availability::availability),
        )
        .route("/v1/events/{id}/seats", get(availability::seats))
        // Internal: not routed by client-service; ticket-service prints these on tickets.
        .route("/internal/v1/events/{id}/places", get(availability::places))
        .route(
            "/v1/events/{id}/availability/stream",
            get(availability::stream),
        )
        .with_state(state)
}
