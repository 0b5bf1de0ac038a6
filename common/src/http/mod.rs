//! HTTP plumbing shared by all services: problem+json errors, the JSON extractor, metrics and
//! the server shell. No business rules and no service's routes live here.

pub mod error;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod pagination;
pub mod problem;
pub mod server;
pub mod state;

pub use error::ApiError;
pub use idempotency::IdempotencyKey;
pub use json::{ApiJson, ApiQuery};
pub use metrics::HttpMetrics;
pub use problem::Problem;
pub use server::{router, serve};
pub use state::AppState;
