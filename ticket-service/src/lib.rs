//! ticket-service: one ticket per sold place, its PDF with a signed QR code in S3, download
//! links, and check-in at the door.
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`messaging`]: the queue of paid and refunded orders, and its consumer.
//! - [`http`]: its public routes.
//! - [`flows`]: the use cases: issuing, revoking, the holder's tickets, check-in.
//! - [`domain`]: pure parts: the signed ticket code, the PDF.
//! - [`directory`]: what tickets print that other services own (event, places, names).
//! - [`storage`]: its migrations and SQL.

pub mod config;
pub mod directory;
pub mod domain;
pub mod flows;
pub mod http;
pub mod messaging;
pub mod startup;
pub mod storage;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "ticket-service";

#[cfg(feature = "test-support")]
pub mod test_support;
