//! The payment provider interface: everything order-service asks of a card processor, and
//! the one built-in provider, a sandbox that behaves like a processor's test mode.
//!
//! A provider charges with the merchant's idempotency key (the payment id), so a retried
//! charge never charges twice; it can be asked later what became of a charge (for attempts
//! whose answer was lost), refunds in full, and reports outcomes by webhook, whose signature
//! it checks itself. Adding a real provider means implementing [`PaymentProvider`] and
//! choosing it in `startup`; nothing else in the service knows which provider it talks to.

pub mod sandbox;
pub mod signature;

use async_trait::async_trait;
use axum::http::HeaderMap;

/// A charge of a whole order.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// The same key always means the same charge: the provider returns the first outcome.
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
    pub card_token: String,
}

/// What the provider did with a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { charge_id: String },
    Declined { reason: String },
}

/// A full refund of a succeeded charge.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub charge_id: String,
    pub amount_minor: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be asked, or did not answer; whether a charge happened is then
    /// unknown until its webhook arrives or it is looked up.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// What a verified webhook says: the outcome of the charge made with `idempotency_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookNotice {
    pub idempotency_key: String,
    pub outcome: ChargeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook has no valid signature")]
    BadSignature,
    #[error("the webhook's timestamp is too old or in the future")]
    Stale,
    #[error("the webhook body is not a charge notice: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError>;

    /// The outcome of the charge made with `idempotency_key`, or `None` if there is none.
    async fn find_charge(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<ChargeOutcome>, ProviderError>;

    /// Refunds the charge in full; returns the refund's id. Idempotent by key.
    async fn refund(&self, request: RefundRequest) -> Result<String, ProviderError>;

    /// Checks a webhook's signature over its raw body before reading it.
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookNotice, WebhookError>;
}
