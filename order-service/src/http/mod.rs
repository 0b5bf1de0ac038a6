//! The public routes of order-service (axum only). The operational routes (`/healthz`,
//! `/readyz`, `/metrics`) are added around these by `common::http::router`.

use axum::Router;

pub fn routes() -> Router {
    Router::new()
}
