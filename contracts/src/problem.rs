//! `application/problem+json` documents (RFC 9457) and the stable error codes they carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Field name -> what is wrong with it: the `errors` of a validation problem.
pub type FieldErrors = BTreeMap<String, String>;

/// The media type every error answer is sent with.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable, machine-readable error codes. The `type` URI of a problem is derived from the code,
/// so clients can match on either; neither changes once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The body or a parameter could not be read at all (not JSON, wrong content type).
    MalformedRequest,
    /// The request was readable but some fields are invalid; `errors` names each one.
    ValidationFailed,
    /// A required header such as `Idempotency-Key` is missing.
    MissingHeader,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// Registration with an email that already has an account.
    EmailTaken,
    /// Login with a wrong email or password (the two are not told apart).
    InvalidCredentials,
    RateLimited,
    /// No places left in the tier asked for.
    SoldOut,
    /// A chosen seat is held or sold already.
    SeatTaken,
    /// The buyer would pass the event's per-buyer ticket limit.
    PurchaseLimitExceeded,
    /// Sales of the event have not opened yet (`Retry-After` / `opens_at` say when).
    SalesNotOpen,
    /// Sales of the event have closed.
    SalesClosed,
    /// The same `Idempotency-Key` was used with a different body.
    IdempotencyKeyReused,
    /// The payment provider declined the card; the hold stays until it expires.
    PaymentDeclined,
    /// The order's hold expired before it was paid.
    HoldExpired,
    /// The order is paid already; nothing was charged again.
    AlreadyPaid,
    /// Another payment of the order is still being processed.
    PaymentInProgress,
    /// A webhook whose signature is missing, wrong or stale.
    InvalidSignature,
    /// A ticket code that is forged, altered, or for another organiser's event.
    InvalidTicket,
    /// The ticket was scanned already (`detail` says when).
    TicketUsed,
    /// The ticket's order was refunded.
    TicketRevoked,
    /// A dependency is down or the system is catching up; retry after `Retry-After`.
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The code as written on the wire (`kebab-case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "malformed-request",
            ErrorCode::ValidationFailed => "validation-failed",
            ErrorCode::MissingHeader => "missing-header",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not-found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::EmailTaken => "email-taken",
            ErrorCode::InvalidCredentials => "invalid-credentials",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::SoldOut => "sold-out",
            ErrorCode::SeatTaken => "seat-taken",
            ErrorCode::PurchaseLimitExceeded => "purchase-limit-exceeded",
            ErrorCode::SalesNotOpen => "sales-not-open",
            ErrorCode::SalesClosed => "sales-closed",
            ErrorCode::IdempotencyKeyReused => "idempotency-key-reused",
            ErrorCode::PaymentDeclined => "payment-declined",
            ErrorCode::HoldExpired => "hold-expired",
            ErrorCode::AlreadyPaid => "already-paid",
            ErrorCode::PaymentInProgress => "payment-in-progress",
            ErrorCode::InvalidSignature => "invalid-signature",
            ErrorCode::InvalidTicket => "invalid-ticket",
            ErrorCode::TicketUsed => "ticket-used",
            ErrorCode::TicketRevoked => "ticket-revoked",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The problem `type` URI for this code (a relative reference, as RFC 9457 allows).
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }
}

/// One problem document, as sent by every service for every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDetails {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    /// Field name -> what is wrong with it; present for validation failures only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

impl ProblemDetails {
    pub fn new(code: ErrorCode, status: u16, title: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: code.type_uri(),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            code,
            errors: BTreeMap::new(),
        }
    }

    pub fn with_errors(mut self, errors: BTreeMap<String, String>) -> Self {
        self.errors = errors;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_serialises_type_from_its_code_and_omits_empty_errors() {
        let problem = ProblemDetails::new(ErrorCode::NotFound, 404, "Not found", "no such event");
        let json = serde_json::to_value(&problem).expect("a problem always serialises");
        assert_eq!(json["type"], "/problems/not-found");
        assert_eq!(json["code"], "not-found");
        assert_eq!(json["status"], 404);
        assert!(json.get("errors").is_none());
    }

    #[test]
    fn error_code_wire_name_matches_serde() {
        for code in [
            ErrorCode::ValidationFailed,
            ErrorCode::RateLimited,
            ErrorCode::MissingHeader,
        ] {
            let json = serde_json::to_value(code).expect("codes serialise");
            assert_eq!(json, code.as_str());
        }
    }
}
