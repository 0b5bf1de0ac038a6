//! Messages in, notices out: each buyer's contacts decide the channels and the language; one
//! row per channel goes into the delivery log (a skipped one too, with why), keyed by the
//! domain event, so that a redelivered message or a second instance writes nothing new. A
//! chunk of messages costs one contacts lookup and one transaction, at the pace of
//! `pacing`. The sender does the rest.

use contracts::{
    accounts::{ContactDetails, Locale},
    notifications::Channel,
    orders::OrderRefundedV1,
    purchases::{OrderExpiredV1, OrderRejectedV1, OrderReservedV1},
    tickets::TicketsIssuedV1,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Deps;
use crate::{
    domain::notice::Notice,
    storage::notifications::{self, NewNotification},
};

/// The messages that are told to buyers.
pub enum Incoming {
    Reserved(OrderReservedV1),
    Rejected(OrderRejectedV1),
    Expired(OrderExpiredV1),
    Refunded(OrderRefundedV1),
    Tickets(TicketsIssuedV1),
}

impl Incoming {
    fn account_id(&self) -> Uuid {
        match self {
            Incoming::Reserved(order) => order.buyer_id,
            Incoming::Rejected(order) => order.buyer_id,
            Incoming::Expired(order) => order.0.buyer_id,
            Incoming::Refunded(order) => order.buyer_id,
            Incoming::Tickets(issued) => issued.buyer_id,
        }
    }

    fn notice(&self, locale: Locale, public_url: &str) -> Notice {
        match self {
            Incoming::Reserved(order) => Notice::reserved(order),
            Incoming::Rejected(order) => Notice::rejected(order, locale),
            Incoming::Expired(order) => Notice::expired(order),
            Incoming::Refunded(order) => Notice::refunded(order, locale),
            Incoming::Tickets(issued) => Notice::tickets(issued, public_url),
        }
    }
}

/// A message to tell a buyer of, with the whole message (`source`), kept to dead-letter it
/// should delivery fail.
pub struct Arrival {
    pub incoming: Incoming,
    pub source: serde_json::Value,
}

/// Writes the notices of `arrivals` at the service's pace, a chunk (one contacts lookup, one
/// transaction) at a time. Should `shutdown` come while it waits, what is not written yet is
/// left to the message's redelivery (what was written is not written twice).
pub async fn record_paced(
    deps: &Deps,
    arrivals: &[Arrival],
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    for chunk in arrivals.chunks(deps.pace.chunk()) {
        anyhow::ensure!(
            deps.pace.wait_turn(chunk.len(), shutdown).await,
            "shutting down before every notice was written"
        );
        record(deps, chunk).await?;
    }
    Ok(())
}

/// Writes the notices of `arrivals`, all in one transaction; returns how many rows were new.
async fn record(deps: &Deps, arrivals: &[Arrival]) -> anyhow::Result<u64> {
    let mut account_ids: Vec<Uuid> = arrivals
        .iter()
        .map(|arrival| arrival.incoming.account_id())
        .collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let contacts = deps.contacts.fetch(&account_ids).await?;
    let mut rows = Vec::with_capacity(arrivals.len() * 2);
    for arrival in arrivals {
        let account_id = arrival.incoming.account_id();
        match contacts.get(&account_id) {
            Some(contacts) => rows.extend(notifications_of(deps, arrival, contacts)?),
            None => tracing::warn!(%account_id, "no such account; nothing to notify"),
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let inserted = notifications::insert_notifications(&transaction, &rows).await?;
    transaction.commit().await?;
    if inserted > 0 {
        deps.wake_sender.notify_one();
    }
    Ok(inserted)
}

/// The email and the SMS row of one message.
fn notifications_of(
    deps: &Deps,
    arrival: &Arrival,
    contacts: &ContactDetails,
) -> anyhow::Result<[NewNotification; 2]> {
    let account_id = contacts.account_id;
    let notice = arrival
        .incoming
        .notice(contacts.locale, &deps.delivery.public_url);
    let rendered =
        deps.templates
            .render(notice.kind, contacts.locale, &contacts.name, &notice.values)?;
    let row =
        |channel, recipient: Option<String>, skip_reason, body_text, body_html| NewNotification {
            notification_id: Uuid::now_v7(),
            key: notice.key.clone(),
            channel,
            account_id,
            kind: notice.kind.as_str(),
            locale: contacts.locale.as_str(),
            recipient,
            subject: rendered.subject.clone(),
            body_text,
            body_html,
            skip_reason,
            source_message: arrival.source.clone(),
        };
    let email_skip = (!contacts.notifications.email).then_some("email notifications are off");
    let sms_skip = if !contacts.notifications.sms {
        Some("SMS notifications are off")
    } else if contacts.phone.is_none() {
        Some("no phone number")
    } else {
        None
    };
    Ok([
        row(
            Channel::Email,
            Some(contacts.email.clone()),
            email_skip,
            rendered.text.clone(),
            Some(rendered.html.clone()),
        ),
        row(
            Channel::Sms,
            contacts.phone.clone(),
            sms_skip,
            rendered.sms.clone(),
            None,
        ),
    ])
}
