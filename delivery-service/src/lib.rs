//! delivery-service: notifications to buyers' contacts (email over SMTP, SMS over a
//! provider's HTTP API), exactly once per domain event and channel, with retries and a
//! delivery log.
//!
//! - [`config`]: its typed configuration (transports, retries).
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`messaging`]: the queue of order and ticket events, and its consumer.
//! - [`http`]: the buyer's history and the operators' view of failures.
//! - [`flows`]: notices into the log, sending what is due, reading the log.
//! - [`domain`]: what each message says to the buyer; when to retry.
//! - [`templates`]: the message templates, English and Russian.
//! - [`channels`]: email and SMS senders.
//! - [`contacts`]: buyers' contacts from account-service.
//! - [`storage`]: its migrations and SQL.

pub mod channels;
pub mod config;
pub mod contacts;
pub mod domain;
pub mod flows;
pub mod http;
pub mod messaging;
pub mod startup;
pub mod storage;
pub mod templates;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "delivery-service";

#[cfg(feature = "test-support")]
pub mod test_support;
