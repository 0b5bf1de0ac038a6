//! `order.paid` -> one ticket per sold place, exactly once.
//!
//! 1. The tickets are recorded as `issuing` (a unique key on order and place: a redelivered
//!    message, or a second consumer, inserts nothing new). An order refunded already gets none.
//! 2. Each issuing ticket's PDF is rendered off the async workers (bounded by a semaphore) and
//!    stored in S3 under `events/<event>/tickets/<ticket>.pdf`.
//! 3. In one transaction the tickets become `valid` and `ticket.issued` goes to the outbox;
//!    only the transaction that moved them publishes, so the message goes out once.
//!
//! A crash anywhere leaves issuing tickets that the redelivered message finishes.

use anyhow::Context;
use common::amqp::{ExchangeRole, outbox};
use contracts::{
    Envelope,
    orders::OrderPaidV1,
    tickets::{IssuedTicket, TicketsIssuedV1},
};
use futures::future::try_join_all;
use uuid::Uuid;

use super::Deps;
use crate::{
    domain::{
        code::TicketCode,
        document::{self, TicketDocument},
    },
    storage::tickets::{self, NewTicket, OrderTickets, TicketRecord},
};

const PDF: &str = "application/pdf";

/// Issues the tickets of a paid order; returns how many became valid now.
#[tracing::instrument(skip_all, fields(order_id = %message.payload.order_id))]
pub async fn issue(deps: &Deps, message: &Envelope<OrderPaidV1>) -> anyhow::Result<usize> {
    let paid = &message.payload;
    let facts = deps.directory.event(paid.event_id).await?;
    let holder_name = deps.directory.holder_name(paid.buyer_id).await?;
    let new_tickets = paid
        .places
        .iter()
        .map(|place| {
            let (label, tier) = facts
                .place(place.place_id, place.area_id)
                .cloned()
                .with_context(|| format!("place {} is not in the event", place.place_id))?;
            let ticket_id = Uuid::now_v7();
            Ok(NewTicket {
                ticket_id,
                place_id: place.place_id,
                place: label,
                tier,
                document_key: format!("events/{}/tickets/{ticket_id}.pdf", paid.event_id),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let order = OrderTickets {
        order_id: paid.order_id,
        purchase_id: paid.purchase_id,
        event_id: paid.event_id,
        organiser_id: facts.organiser_id,
        holder_id: paid.buyer_id,
        holder_name: &holder_name,
        event_title: &facts.title,
        starts_at: facts.starts_at,
        venue: &facts.venue,
    };
    let issuing = {
        let mut client = deps.database.pool().get().await?;
        let transaction = client.transaction().await?;
        tickets::lock_order(&transaction, paid.order_id).await?;
        if tickets::is_revoked_order(&transaction, paid.order_id).await? {
            tracing::info!("order refunded before its tickets were issued; none issued");
            return Ok(0);
        }
        tickets::insert_tickets(&transaction, &order, &new_tickets).await?;
        let issuing = tickets::issuing_tickets(&transaction, paid.order_id).await?;
        transaction.commit().await?;
        issuing
    };
    if issuing.is_empty() {
        return Ok(0);
    }
    try_join_all(issuing.iter().map(|ticket| store_document(deps, ticket))).await?;

    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let ids: Vec<Uuid> = issuing.iter().map(|ticket| ticket.ticket_id).collect();
    let valid = tickets::mark_valid(&transaction, &ids).await?;
    if !valid.is_empty() {
        let issued = TicketsIssuedV1 {
            order_id: paid.order_id,
            purchase_id: paid.purchase_id,
            buyer_id: paid.buyer_id,
            event_id: paid.event_id,
            event_title: facts.title.clone(),
            starts_at: facts.starts_at,
            tickets: issuing
                .iter()
                .filter(|ticket| valid.contains(&ticket.ticket_id))
                .map(|ticket| IssuedTicket {
                    ticket_id: ticket.ticket_id,
                    place_id: ticket.place_id,
                    place: ticket.place.clone(),
                    tier: ticket.tier.clone(),
                })
                .collect(),
        };
        let envelope = Envelope::new(message.correlation_id, issued);
        outbox::enqueue(&transaction, ExchangeRole::Events, &envelope).await?;
    }
    transaction.commit().await?;
    deps.outbox.wake();
    // Not made valid here: another consumer did (nothing to do), or the order was refunded
    // while its documents were being made, and they must not outlive their tickets.
    let others: Vec<Uuid> = ids.into_iter().filter(|id| !valid.contains(id)).collect();
    if !others.is_empty() {
        for key in tickets::revoked_document_keys(&client, &others).await? {
            deps.store.delete(&key).await?;
        }
    }
    tracing::info!(tickets = valid.len(), "tickets issued");
    Ok(valid.len())
}

/// Renders the ticket's PDF on a blocking thread (holding a render permit) and stores it.
async fn store_document(deps: &Deps, ticket: &TicketRecord) -> anyhow::Result<()> {
    let permit = deps
        .render_permits
        .clone()
        .acquire_owned()
        .await
        .context("render permits closed")?;
    let key = deps.signing_key.clone();
    let document = TicketDocument {
        ticket_id: ticket.ticket_id,
        event_title: ticket.event_title.clone(),
        starts_at: ticket.starts_at,
        venue: ticket.venue.clone(),
        place: ticket.place.clone(),
        tier: ticket.tier.clone(),
        holder_name: ticket.holder_name.clone(),
        code: String::new(),
    };
    let code = TicketCode {
        ticket_id: ticket.ticket_id,
        event_id: ticket.event_id,
    };
    let pdf = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        document::render(&TicketDocument {
            code: code.sign(&key),
            ..document
        })
    })
    .await
    .context("rendering panicked")?
    .context("rendering the ticket")?;
    deps.store.put(&ticket.document_key, PDF, pdf).await
}
