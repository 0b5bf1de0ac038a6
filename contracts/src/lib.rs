//! Wire types shared by every service and by `loadtest`: HTTP bodies, problem documents, error
//! codes, message envelopes and readiness reports. One module per area: accounts, events,
//! purchases, orders (payments), tickets.
//!
//! This crate is the contract between processes, so it depends only on serde, uuid and time:
//! never on axum, lapin, tokio-postgres or redis. Changing a type here changes what goes over
//! the wire; messages carry a version for that reason.

pub mod accounts;
pub mod events;
pub mod messages;
pub mod notifications;
pub mod ops;
pub mod orders;
pub mod problem;
pub mod purchases;
pub mod tickets;

pub use messages::{Envelope, Message};
pub use problem::{ErrorCode, ProblemDetails};
