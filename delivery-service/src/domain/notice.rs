//! What each message tells the buyer: the kind of notice, the order it is about, and the
//! values its templates show, already put in words for the buyer's locale.

use contracts::{
    Message,
    accounts::Locale,
    orders::{OrderRefundedV1, RefundReason},
    purchases::{OrderExpiredV1, OrderRejectedV1, OrderReservedV1, RejectionReason},
    tickets::TicketsIssuedV1,
};
use serde::Serialize;
use time::{OffsetDateTime, macros::format_description};
use uuid::Uuid;

/// The notices there are, named as their templates are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reserved,
    Rejected,
    Expired,
    Refunded,
    Tickets,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reserved => "reserved",
            Kind::Rejected => "rejected",
            Kind::Expired => "expired",
            Kind::Refunded => "refunded",
            Kind::Tickets => "tickets",
        }
    }
}

/// One notice to a buyer, before rendering.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: Kind,
    pub account_id: Uuid,
    /// `<message type>:<order id>`: the domain event, whatever envelope carried it.
    pub key: String,
    pub values: Values,
}

/// What the templates show.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Values {
    pub order_id: Uuid,
    pub places: usize,
    pub amount: String,
    pub hold_expires_at: String,
    pub reason: String,
    pub event: String,
    pub starts_at: String,
    pub tickets: Vec<TicketLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketLink {
    pub place: String,
    pub link: String,
}

impl Notice {
    pub fn reserved(order: &OrderReservedV1) -> Self {
        Self::new(
            Kind::Reserved,
            OrderReservedV1::FACT,
            order.buyer_id,
            Values {
                order_id: order.order_id,
                places: order.places.len(),
                amount: money(order.amount_minor, &order.currency),
                hold_expires_at: moment(order.hold_expires_at),
                ..Values::default()
            },
        )
    }

    pub fn rejected(order: &OrderRejectedV1, locale: Locale) -> Self {
        Self::new(
            Kind::Rejected,
            OrderRejectedV1::FACT,
            order.buyer_id,
            Values {
                order_id: order.order_id,
                reason: rejection(order.reason, locale).to_owned(),
                ..Values::default()
            },
        )
    }

    pub fn expired(order: &OrderExpiredV1) -> Self {
        let order = &order.0;
        Self::new(
            Kind::Expired,
            OrderExpiredV1::TYPE,
            order.buyer_id,
            Values {
                order_id: order.order_id,
                ..Values::default()
            },
        )
    }

    pub fn refunded(order: &OrderRefundedV1, locale: Locale) -> Self {
        Self::new(
            Kind::Refunded,
            OrderRefundedV1::TYPE,
            order.buyer_id,
            Values {
                order_id: order.order_id,
                amount: money(order.amount_minor, &order.currency),
                reason: refund(order.reason, locale).to_owned(),
                ..Values::default()
            },
        )
    }

    /// `public_url` is where buyers reach the API: each ticket links to its download.
    pub fn tickets(issued: &TicketsIssuedV1, public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/');
        Self::new(
            Kind::Tickets,
            TicketsIssuedV1::TYPE,
            issued.buyer_id,
            Values {
                order_id: issued.order_id,
                places: issued.tickets.len(),
                event: issued.event_title.clone(),
                starts_at: moment(issued.starts_at),
                tickets: issued
                    .tickets
                    .iter()
                    .map(|ticket| TicketLink {
                        place: ticket.place.clone(),
                        link: format!("{public_url}/v1/tickets/{}/document", ticket.ticket_id),
                    })
                    .collect(),
                ..Values::default()
            },
        )
    }

    fn new(kind: Kind, message_type: &str, account_id: Uuid, values: Values) -> Self {
        Self {
            kind,
            account_id,
            key: format!("{message_type}:{}", values.order_id),
            values,
        }
    }
}

/// Minor units in major ones with the currency: `9000 EUR` -> `90.00 EUR`.
fn money(amount_minor: i64, currency: &str) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let amount = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", amount / 100, amount % 100)
}

fn moment(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

fn rejection(reason: RejectionReason, locale: Locale) -> &'static str {
    match (reason, locale) {
        (RejectionReason::SoldOut, Locale::En) => "sold out",
        (RejectionReason::SoldOut, Locale::Ru) => "билеты закончились",
        (RejectionReason::SeatTaken, Locale::En) => "the seat was taken",
        (RejectionReason::SeatTaken, Locale::Ru) => "место уже занято",
        (RejectionReason::PurchaseLimitExceeded, Locale::En) => "over the per-buyer limit",
        (RejectionReason::PurchaseLimitExceeded, Locale::Ru) => "превышен лимит на покупателя",
        (RejectionReason::SalesNotOpen, Locale::En) => "sales had not opened",
        (RejectionReason::SalesNotOpen, Locale::Ru) => "продажи ещё не открыты",
        (RejectionReason::SalesClosed, Locale::En) => "sales had closed",
        (RejectionReason::SalesClosed, Locale::Ru) => "продажи закрыты",
        (RejectionReason::UnknownPlace, Locale::En) => "no such place",
        (RejectionReason::UnknownPlace, Locale::Ru) => "такого места нет",
    }
}

fn refund(reason: RefundReason, locale: Locale) -> &'static str {
    match (reason, locale) {
        (RefundReason::Cancelled, Locale::En) => "you cancelled the order",
        (RefundReason::Cancelled, Locale::Ru) => "вы отменили заказ",
        (RefundReason::HoldExpired, Locale::En) => "the payment came after the hold expired",
        (RefundReason::HoldExpired, Locale::Ru) => "оплата пришла после окончания брони",
        (RefundReason::EventCancelled, Locale::En) => "the event was cancelled",
        (RefundReason::EventCancelled, Locale::Ru) => "мероприятие отменено",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_shown_in_major_units() {
        assert_eq!(money(9_000, "EUR"), "90.00 EUR");
        assert_eq!(money(5, "USD"), "0.05 USD");
        assert_eq!(money(-1_250, "EUR"), "-12.50 EUR");
    }
}
