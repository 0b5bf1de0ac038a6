//! The channels notifications go out on: email (SMTP, or `.eml` files locally) and SMS (a
//! provider's HTTP API, or a local log). Each send ends in success or a [`SendError`] that
//! says whether trying again can help.

pub mod email;
pub mod sms;

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (connection refused, timeout, a 4xx SMTP reply, a 5xx HTTP
    /// answer).
    #[error("transient: {0}")]
    Transient(String),
    /// Trying again cannot help (an address the server refuses, a malformed number).
    #[error("permanent: {0}")]
    Permanent(String),
}
