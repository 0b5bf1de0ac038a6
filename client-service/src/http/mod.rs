//! The public routes of client-service (axum only): purchases are handled here, every other
//! path is forwarded unchanged to the service that owns it. The operational routes are added
//! around these by `common::http::router`.

mod error;
pub mod proxy;
mod purchases;

use axum::{
    Router,
    routing::{get, post},
};

use crate::flows::Deps;
use proxy::Upstream;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

/// The services the gateway forwards to.
pub struct Upstreams {
    pub accounts: Upstream,
    pub events: Upstream,
    pub orders: Upstream,
    pub tickets: Upstream,
    pub deliveries: Upstream,
}

pub fn routes(state: AppState, upstreams: Upstreams) -> Router {
    let purchases = Router::new()
        .route("/v1/purchases", post(purchases::request_purchase))
        .route("/v1/purchases/{id}", get(purchases::purchase))
        .route("/v1/purchases/{id}/stream", get(purchases::stream))
        .with_state(state);
    let events = upstreams
        .events
        .routes(&["/v1/venues", "/v1/events", "/v1/events/{*rest}"]);
    let orders =
        upstreams
            .orders
            .routes(&["/v1/orders", "/v1/orders/{*rest}", "/v1/payments/webhook"]);
    let tickets = upstreams.tickets.routes(&[
        "/v1/tickets",
        "/v1/tickets/{*rest}",
        "/v1/checkins",
        "/v1/checkin-staff",
    ]);
    let notifications = upstreams.deliveries.routes(&["/v1/notifications"]);
    upstreams
        .accounts
        .routes(&[
            "/v1/accounts",
            "/v1/sessions",
            "/v1/sessions/refresh",
            "/v1/me",
            "/v1/admin/{*rest}",
            "/.well-known/jwks.json",
        ])
        .merge(events)
        .merge(orders)
        .merge(tickets)
        .merge(notifications)
        .merge(purchases)
}
