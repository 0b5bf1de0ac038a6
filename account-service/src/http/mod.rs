//! The public routes of account-service (axum only), plus the internal contact lookup that
//! delivery-service uses. The operational routes are added around these by
//! `common::http::router`.

mod accounts;
mod admin;
mod error;
mod sessions;

use axum::{
    Router,
    routing::{get, post, put},
};

use crate::flows::Deps;

/// Handlers get the flows' dependencies and the token verifier.
pub type AppState = common::http::AppState<Deps>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/accounts", post(accounts::register))
        .route("/v1/me", get(accounts::me).patch(accounts::update_me))
        .route(
            "/v1/sessions",
            post(sessions::login).delete(sessions::logout),
        )
        .route("/v1/sessions/refresh", post(sessions::refresh))
        .route("/.well-known/jwks.json", get(sessions::jwks))
        .route("/v1/admin/accounts", get(admin::list_accounts))
        .route("/v1/admin/accounts/{id}/role", put(admin::change_role))
        // Internal: not routed by client-service; delivery- and ticket-service read contacts
        // here, many accounts per call.
        .route(
            "/internal/v1/contacts/lookup",
            post(accounts::look_up_contacts),
        )
        .with_state(state)
}
