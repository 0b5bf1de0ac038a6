//! Orders and payments on the wire: the buyer's cabinet (`GET /v1/orders`), paying a hold
//! (`POST /v1/orders/{id}/payment`), and the order events that follow a payment.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    messages::Message,
    purchases::{OrderPlace, RejectionReason},
};

/// The states of an order (ARCHITECTURE.md): `reserved -> paid -> ticketed`, or `rejected`,
/// `expired`, `cancelled`, `refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Reserved,
    Rejected,
    Paid,
    Ticketed,
    Expired,
    Cancelled,
    Refunded,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Reserved => "reserved",
            OrderState::Rejected => "rejected",
            OrderState::Paid => "paid",
            OrderState::Ticketed => "ticketed",
            OrderState::Expired => "expired",
            OrderState::Cancelled => "cancelled",
            OrderState::Refunded => "refunded",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "reserved" => OrderState::Reserved,
            "rejected" => OrderState::Rejected,
            "paid" => OrderState::Paid,
            "ticketed" => OrderState::Ticketed,
            "expired" => OrderState::Expired,
            "cancelled" => OrderState::Cancelled,
            "refunded" => OrderState::Refunded,
            _ => return None,
        })
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTransition {
    pub state: OrderState,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `GET /v1/orders/{id}`, an entry of `GET /v1/orders`, and the answer to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub state: OrderState,
    pub places: Vec<OrderPlace>,
    /// The sum of the places' tier prices at the time of reservation.
    pub amount_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub hold_expires_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectionReason>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Every state the order went through, oldest first.
    pub history: Vec<OrderTransition>,
}

/// `GET /v1/orders`: newest first, with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/orders/{id}/payment`: a card token of the payment provider (the sandbox knows
/// `tok_visa`, `tok_declined` and `tok_slow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub card_token: String,
}

/// Why an order's money went back to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The buyer cancelled a paid order.
    Cancelled,
    /// The payment succeeded after the hold had expired and its places were sold meanwhile.
    HoldExpired,
    /// The organiser cancelled the event.
    EventCancelled,
}

impl RefundReason {
    /// The name on the wire (`snake_case`), also how order-service stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::Cancelled => "cancelled",
            RefundReason::HoldExpired => "hold_expired",
            RefundReason::EventCancelled => "event_cancelled",
        }
    }
}

/// `order.paid`: the order's places are sold to the buyer; ticket-service issues one ticket
/// per place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaidV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub places: Vec<OrderPlace>,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub paid_at: OffsetDateTime,
}

impl Message for OrderPaidV1 {
    const TYPE: &'static str = "order.paid";
    const VERSION: u16 = 1;
}

/// `order.refunded`: the charge was refunded and the places are on sale again; tickets of the
/// order are revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefundedV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: RefundReason,
}

impl Message for OrderRefundedV1 {
    const TYPE: &'static str = "order.refunded";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_states_read_back_what_they_write() {
        for state in [
            OrderState::Reserved,
            OrderState::Rejected,
            OrderState::Paid,
            OrderState::Ticketed,
            OrderState::Expired,
            OrderState::Cancelled,
            OrderState::Refunded,
        ] {
            assert_eq!(OrderState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).expect("serialises"),
                state.as_str()
            );
        }
        assert_eq!(OrderState::parse("requested"), None);
        for reason in [
            RefundReason::Cancelled,
            RefundReason::HoldExpired,
            RefundReason::EventCancelled,
        ] {
            assert_eq!(
                serde_json::to_value(reason).expect("serialises"),
                reason.as_str()
            );
        }
    }
}
