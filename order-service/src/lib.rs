//! order-service: seat inventory, holds and orders; the only writer of seat state.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`messaging`]: the queues it consumes and the consumers that call the flows.
//! - [`http`]: its public routes.
//! - [`flows`]: the use cases: inventory, reservations, holds, counters, payments,
//!   cancellations, the buyer's orders.
//! - [`domain`]: pure rules (when an order may be paid, payment states).
//! - [`payments`]: the payment provider interface and the built-in sandbox provider.
//! - [`storage`]: its migrations and SQL.

pub mod config;
pub mod domain;
pub mod flows;
pub mod http;
pub mod messaging;
pub mod payments;
pub mod startup;
pub mod storage;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "order-service";

#[cfg(feature = "test-support")]
pub mod test_support;
