//! client-service: The public entry point (API gateway / BFF): purchase intake, live updates to clients, and
//! routing of every other public call to the service that owns it.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`http`]: its public routes.

pub mod config;
pub mod http;
pub mod startup;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "client-service";
