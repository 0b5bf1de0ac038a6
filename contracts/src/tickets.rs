//! Tickets on the wire: the holder's tickets, check-in at the door, and the messages
//! ticket-service publishes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::messages::Message;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Recorded; its document is being made.
    Issuing,
    /// Its document is stored; it admits its holder once.
    Valid,
    /// Scanned at the door.
    Used,
    /// Its order was refunded: it admits nobody.
    Revoked,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Issuing => "issuing",
            TicketState::Valid => "valid",
            TicketState::Used => "used",
            TicketState::Revoked => "revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "issuing" => TicketState::Issuing,
            "valid" => TicketState::Valid,
            "used" => TicketState::Used,
            "revoked" => TicketState::Revoked,
            _ => return None,
        })
    }
}

/// `GET /v1/tickets/{id}` and an entry of `GET /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketView {
    pub ticket_id: Uuid,
    pub order_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    pub venue: String,
    /// `Stalls, row F, seat 12` or the general-admission area's name.
    pub place: String,
    pub tier: String,
    pub holder_name: String,
    pub state: TicketState,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub checked_in_at: Option<OffsetDateTime>,
}

/// `GET /v1/tickets`: newest first, with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPage {
    pub tickets: Vec<TicketView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/checkins`: the text of a ticket's QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinRequest {
    pub code: String,
}

/// `200` to `POST /v1/checkins`: the holder is admitted to this place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    pub ticket_id: Uuid,
    pub event_id: Uuid,
    pub place: String,
    pub tier: String,
    pub holder_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_in_at: OffsetDateTime,
}

/// `POST /v1/checkin-staff`: the organiser names someone who may scan tickets of the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinStaffRequest {
    pub event_id: Uuid,
    pub account_id: Uuid,
}

/// One ticket of a `ticket.issued` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTicket {
    pub ticket_id: Uuid,
    pub place_id: Uuid,
    pub place: String,
    pub tier: String,
}

/// `ticket.issued`: every ticket of a paid order has its document stored; the buyer can
/// download them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsIssuedV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    pub tickets: Vec<IssuedTicket>,
}

impl Message for TicketsIssuedV1 {
    const TYPE: &'static str = "ticket.issued";
    const VERSION: u16 = 1;
}

/// `ticket.revoked`: the order's tickets admit nobody any more (its refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsRevokedV1 {
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub ticket_ids: Vec<Uuid>,
}

impl Message for TicketsRevokedV1 {
    const TYPE: &'static str = "ticket.revoked";
    const VERSION: u16 = 1;
}
