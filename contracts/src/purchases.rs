//! Purchases on the wire: the buyer's request and the status they follow, the
//! `purchases.requested` command from client-service to order-service, and the decisions and
//! order events order-service answers with.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::messages::Message;

/// Most places one purchase may ask for, whatever the event's per-buyer limit.
pub const MAX_PLACES_PER_PURCHASE: usize = 10;

/// `POST /v1/purchases`: `{event_id, tier_id, quantity}` (best available in a tier) or
/// `{event_id, seat_ids}` (chosen seats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequest {
    pub event_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_ids: Option<Vec<Uuid>>,
}

/// What a purchase asks for, once validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Selection {
    /// `quantity` places of `tier_id`, chosen by order-service (adjacent where possible).
    BestAvailable { tier_id: Uuid, quantity: u32 },
    /// Exactly these seats, or nothing.
    Seats { seat_ids: Vec<Uuid> },
}

impl Selection {
    pub fn place_count(&self) -> u32 {
        match self {
            Selection::BestAvailable { quantity, .. } => *quantity,
            Selection::Seats { seat_ids } => u32::try_from(seat_ids.len()).unwrap_or(u32::MAX),
        }
    }
}

/// `202 Accepted` to `POST /v1/purchases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseAccepted {
    pub purchase_id: Uuid,
    pub status: PurchaseStatus,
}

/// Where a purchase stands. `queued` until order-service has decided; the order states after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    Queued,
    Reserved,
    Rejected,
    Paid,
    Ticketed,
    Expired,
    Cancelled,
    Refunded,
}

impl PurchaseStatus {
    /// Statuses only move forward: a later message never brings back an earlier status,
    /// whatever order the broker delivers them in.
    pub fn rank(self) -> u8 {
        match self {
            PurchaseStatus::Queued => 0,
            PurchaseStatus::Reserved => 1,
            PurchaseStatus::Paid => 2,
            PurchaseStatus::Ticketed => 3,
            PurchaseStatus::Rejected | PurchaseStatus::Expired | PurchaseStatus::Cancelled => 8,
            PurchaseStatus::Refunded => 9,
        }
    }

    /// Nothing follows these for the buyer's purchase stream.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PurchaseStatus::Rejected
                | PurchaseStatus::Ticketed
                | PurchaseStatus::Expired
                | PurchaseStatus::Cancelled
                | PurchaseStatus::Refunded
        )
    }
}

/// Why order-service refused a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    SoldOut,
    SeatTaken,
    PurchaseLimitExceeded,
    SalesNotOpen,
    SalesClosed,
    /// The event or a seat is not part of the published inventory.
    UnknownPlace,
}

impl RejectionReason {
    /// The name on the wire (`snake_case`), also how order-service stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionReason::SoldOut => "sold_out",
            RejectionReason::SeatTaken => "seat_taken",
            RejectionReason::PurchaseLimitExceeded => "purchase_limit_exceeded",
            RejectionReason::SalesNotOpen => "sales_not_open",
            RejectionReason::SalesClosed => "sales_closed",
            RejectionReason::UnknownPlace => "unknown_place",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "sold_out" => RejectionReason::SoldOut,
            "seat_taken" => RejectionReason::SeatTaken,
            "purchase_limit_exceeded" => RejectionReason::PurchaseLimitExceeded,
            "sales_not_open" => RejectionReason::SalesNotOpen,
            "sales_closed" => RejectionReason::SalesClosed,
            "unknown_place" => RejectionReason::UnknownPlace,
            _ => return None,
        })
    }
}

/// One place of an order: a numbered seat (`place_id` is the venue's seat id) or a
/// general-admission place of an area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlace {
    pub place_id: Uuid,
    pub tier_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<Uuid>,
    pub price_minor: i64,
}

/// `GET /v1/purchases/{id}` and each message of its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseView {
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub status: PurchaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<OrderPlace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
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
}

impl PurchaseView {
    /// A status with nothing else known yet.
    pub fn new(purchase_id: Uuid, event_id: Uuid, status: PurchaseStatus) -> Self {
        Self {
            purchase_id,
            event_id,
            status,
            order_id: None,
            seats: Vec::new(),
            amount_minor: None,
            currency: None,
            hold_expires_at: None,
            reason: None,
        }
    }
}

/// `purchases.requested` (commands exchange): purchase requests client-service admitted (their
/// places taken from the Redis counters), all of one purchase queue shard.
///
/// client-service publishes the requests that gathered while its earlier publishes awaited
/// their confirms as one message (a group commit): one request alone goes at once, and at a
/// drop the broker handles one message for many purchases instead of one each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasesRequestedV1 {
    pub requests: Vec<PurchaseRequestedV1>,
}

impl Message for PurchasesRequestedV1 {
    const TYPE: &'static str = "purchases.requested";
    const VERSION: u16 = 1;
}

/// One purchase request (within `purchases.requested`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequestedV1 {
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub selection: Selection,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

/// Purchase requests are spread over `shards` queues by event, so that several order-service
/// consumers work on different events and one event's requests stay in one queue:
/// `purchases.requested.<shard>`.
pub fn purchase_routing_key(event_id: Uuid, shards: u16) -> String {
    shard_routing_key(purchase_shard(event_id, shards))
}

/// The purchase queue shard of `event_id`'s requests.
pub fn purchase_shard(event_id: Uuid, shards: u16) -> u16 {
    let shard = event_id.as_u128() % u128::from(shards.max(1));
    u16::try_from(shard).expect("a remainder of a u16 fits a u16")
}

/// The routing key of purchase queue shard `shard`.
pub fn shard_routing_key(shard: u16) -> String {
    format!("{}.{shard}", PurchasesRequestedV1::TYPE)
}

/// `purchases.decided`: what one reservation batch of order-service decided, all of one
/// event: the orders it reserved and the purchases it rejected, each told once.
///
/// One message per batch rather than one per order: at a drop the per-order events were two
/// broker deliveries and an outbox row for every purchase, most of the broker's work, taking
/// the CPU the intake needs at that very moment. A batch is decided in one transaction, so
/// its decisions are one fact; consumers still act on each order on its own (`reserved`,
/// `rejected`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasesDecidedV1 {
    pub event_id: Uuid,
    pub reserved: Vec<OrderReservedV1>,
    pub rejected: Vec<OrderRejectedV1>,
}

impl Message for PurchasesDecidedV1 {
    const TYPE: &'static str = "purchases.decided";
    const VERSION: u16 = 1;
}

/// `order.reserved` (within `purchases.decided`): the places are held for the buyer until
/// `hold_expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReservedV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub places: Vec<OrderPlace>,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub hold_expires_at: OffsetDateTime,
}

impl OrderReservedV1 {
    /// The fact's name, as notices and logs call it.
    pub const FACT: &'static str = "order.reserved";
}

/// `order.rejected` (within `purchases.decided`): nothing was reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRejectedV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub reason: RejectionReason,
}

impl OrderRejectedV1 {
    /// The fact's name, as notices and logs call it.
    pub const FACT: &'static str = "order.rejected";
}

/// `order.expired` and `order.cancelled`: the hold ended and the places are on sale again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReleasedV1 {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
}

/// `order.expired`: the hold ran out before payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderExpiredV1(pub OrderReleasedV1);

impl Message for OrderExpiredV1 {
    const TYPE: &'static str = "order.expired";
    const VERSION: u16 = 1;
}

/// `order.cancelled`: the buyer gave the places back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderCancelledV1(pub OrderReleasedV1);

impl Message for OrderCancelledV1 {
    const TYPE: &'static str = "order.cancelled";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_rank_forward_and_terminal_ones_end_the_stream() {
        assert!(PurchaseStatus::Queued.rank() < PurchaseStatus::Reserved.rank());
        assert!(PurchaseStatus::Reserved.rank() < PurchaseStatus::Expired.rank());
        assert!(PurchaseStatus::Ticketed.rank() < PurchaseStatus::Refunded.rank());
        assert!(!PurchaseStatus::Reserved.is_terminal());
        assert!(PurchaseStatus::Rejected.is_terminal());
    }

    #[test]
    fn an_event_keeps_its_purchase_queue_and_events_spread_over_all() {
        let event = Uuid::now_v7();
        assert_eq!(
            purchase_routing_key(event, 4),
            purchase_routing_key(event, 4)
        );
        let keys: std::collections::HashSet<String> = (0..200)
            .map(|_| purchase_routing_key(Uuid::new_v4(), 4))
            .collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(
            keys.iter()
                .all(|key| key.starts_with("purchases.requested."))
        );
    }

    #[test]
    fn rejection_reasons_read_back_what_they_write() {
        for reason in [
            RejectionReason::SoldOut,
            RejectionReason::SeatTaken,
            RejectionReason::PurchaseLimitExceeded,
            RejectionReason::SalesNotOpen,
            RejectionReason::SalesClosed,
            RejectionReason::UnknownPlace,
        ] {
            assert_eq!(RejectionReason::parse(reason.as_str()), Some(reason));
            assert_eq!(
                serde_json::to_value(reason).expect("serialises"),
                reason.as_str()
            );
        }
    }

    #[test]
    fn a_selection_travels_tagged() {
        let selection = Selection::BestAvailable {
            tier_id: Uuid::nil(),
            quantity: 2,
        };
        let json = serde_json::to_value(&selection).expect("serialises");
        assert_eq!(json["kind"], "best_available");
        assert_eq!(selection.place_count(), 2);
    }
}
