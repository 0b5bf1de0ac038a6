//! event-service: Venues, seat maps, events, price tiers, publishing and the catalog.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`http`]: routes and handlers; `http::error` is where status codes are chosen.
//! - [`flows`]: the use cases (venues, drafting, publishing, catalog).
//! - [`domain`]: pure rules of seat maps, schedules and tier coverage.
//! - [`storage`]: its migrations and SQL.

pub mod config;
pub mod domain;
pub mod flows;
pub mod http;
pub mod startup;
pub mod storage;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "event-service";

#[cfg(feature = "test-support")]
pub mod test_support;
