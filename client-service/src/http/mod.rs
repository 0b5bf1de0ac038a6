//! The public routes of client-service (axum only): each path either handled here (purchase
//! intake, as it arrives) or forwarded unchanged to the service that owns it. The operational
//! routes are added around these by `common::http::router`.

pub mod proxy;

use axum::Router;

use proxy::Upstream;

/// The services the gateway forwards to.
pub struct Upstreams {
    pub accounts: Upstream,
    pub events: Upstream,
}

pub fn routes(upstreams: Upstreams) -> Router {
    let events = upstreams
        .events
        .routes(&["/v1/venues", "/v1/events", "/v1/events/{*rest}"]);
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
}
