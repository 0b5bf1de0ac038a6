//! Infrastructure shared by every service, and nothing else: no business rules live here.
//!
//! - [`config`]: the `TICKETING_*` environment variables and typed settings per dependency.
//! - [`telemetry`]: logging set-up (text or JSON).
//! - [`shutdown`]: the process's one cancellation token, fired by SIGTERM/SIGINT.
//! - [`http`]: problem+json errors, the JSON extractor, metrics, and the server shell with
//!   `/healthz`, `/readyz`, `/metrics`.
//! - [`app`]: the listener, router, background tasks and broker of a running service.
//! - [`auth`]: the `AuthUser` extractor: access tokens verified locally against the JWKS.
//! - [`availability`]: the Redis key schema of live seat counters.
//! - [`readiness`]: named dependency checks behind `/readyz`.
//! - [`signing_keys`]: Ed25519 signing keys from configuration (generated once in development).
//! - [`postgres`], [`redis`], [`amqp`], [`s3`]: one module per backing service.
//! - `test_support` (feature `test-support`): per-test isolation against the real services.

pub mod amqp;
pub mod app;
pub mod auth;
pub mod availability;
pub mod config;
pub mod http;
pub mod postgres;
pub mod readiness;
pub mod redis;
pub mod s3;
pub mod shutdown;
pub mod signing_keys;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod test_support;
