//! order-service: Seat inventory, holds, orders and payments: the only writer of seat state.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`http`]: its public routes.
//! - [`storage`]: its migrations and SQL.

pub mod config;
pub mod http;
pub mod startup;
pub mod storage;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "order-service";
