//! account-service: users, credentials, roles, contacts and sessions; issues JWTs and
//! publishes the public keys that verify them (JWKS).
//!
//! - [`config`]: its typed configuration.
//! - [`startup`]: `build(config)`, used by `main` and the tests.
//! - [`http`]: routes and handlers; `http::error` is where status codes are chosen.
//! - [`flows`]: the use cases (register, login, refresh, logout, profile, admin).
//! - [`domain`]: pure validation of emails, passwords, phones, registrations, profile changes.
//! - [`storage`]: SQL (accounts, refresh tokens), Redis login counters, migrations.
//! - [`passwords`], [`tokens`], [`keys`]: argon2id hashing, token issuing, signing keys.

pub mod config;
pub mod domain;
pub mod flows;
pub mod http;
pub mod keys;
pub mod passwords;
pub mod startup;
pub mod storage;
pub mod tokens;

/// The name this service reports in logs and `/readyz`.
pub const SERVICE: &str = "account-service";
#[cfg(feature = "test-support")]
pub mod test_support;
