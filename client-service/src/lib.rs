//! client-service: the public entry point (API gateway / BFF): purchase intake, live purchase
//! status, and routing of every other public call to the service that owns it.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`http`]: its public routes, its own and forwarded.
//! - [`flows`]: purchase intake (idempotency, admission, queueing) and purchase status.
//! - [`messaging`]: the order events that move purchase statuses on.

pub mod config;
pub mod flows;
pub mod http;
pub mod messaging;
pub mod startup;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "client-service";
