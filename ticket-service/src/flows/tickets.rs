//! The holder's tickets and their documents. Anyone else's ticket is a 404.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::presigning::PresigningConfig;
use common::http::pagination::{Cursor, Page};
use contracts::tickets::{TicketPage, TicketState, TicketView};
use uuid::Uuid;

use super::{Deps, TicketError};
use crate::storage::tickets::{self, TicketRecord};

pub async fn ticket(
    deps: &Deps,
    holder_id: Uuid,
    ticket_id: Uuid,
) -> Result<TicketView, TicketError> {
    Ok(view(owned(deps, holder_id, ticket_id).await?))
}

pub async fn list(deps: &Deps, holder_id: Uuid, page: Page) -> Result<TicketPage, TicketError> {
    let client = deps.database.pool().get().await?;
    let after = page.after.map(|cursor| (cursor.at, cursor.id));
    let records = tickets::list_tickets(&client, holder_id, after, page.fetch_limit()).await?;
    let (records, next_cursor) = page.finish(records, |ticket| {
        Cursor::new(ticket.issued_at, ticket.ticket_id)
    });
    Ok(TicketPage {
        tickets: records.into_iter().map(view).collect(),
        next_cursor,
    })
}

/// A short-lived link to the ticket's PDF in S3 (`download_link_ttl`).
pub async fn document_link(
    deps: &Deps,
    holder_id: Uuid,
    ticket_id: Uuid,
) -> Result<String, TicketError> {
    let ticket = owned(deps, holder_id, ticket_id).await?;
    match ticket.state {
        TicketState::Valid | TicketState::Used => {}
        TicketState::Issuing => return Err(TicketError::NotReady),
        TicketState::Revoked => return Err(TicketError::Revoked),
    }
    presigned_link(deps, &ticket.document_key, deps.tickets.download_link_ttl).await
}

async fn presigned_link(deps: &Deps, key: &str, ttl: Duration) -> Result<String, TicketError> {
    let presigning = PresigningConfig::expires_in(ttl).context("link lifetime")?;
    let request = deps
        .store
        .client()
        .get_object()
        .bucket(deps.store.bucket())
        .key(key)
        .response_content_type("application/pdf")
        .presigned(presigning)
        .await
        .context("presigning a document link")?;
    Ok(request.uri().to_owned())
}

async fn owned(deps: &Deps, holder_id: Uuid, ticket_id: Uuid) -> Result<TicketRecord, TicketError> {
    let client = deps.database.pool().get().await?;
    tickets::find_ticket(&client, ticket_id)
        .await?
        .filter(|ticket| ticket.holder_id == holder_id)
        .ok_or(TicketError::NotFound)
}

fn view(ticket: TicketRecord) -> TicketView {
    TicketView {
        ticket_id: ticket.ticket_id,
        order_id: ticket.order_id,
        event_id: ticket.event_id,
        event_title: ticket.event_title,
        starts_at: ticket.starts_at,
        venue: ticket.venue,
        place: ticket.place,
        tier: ticket.tier,
        holder_name: ticket.holder_name,
        state: ticket.state,
        issued_at: ticket.issued_at,
        checked_in_at: ticket.checked_in_at,
    }
}
