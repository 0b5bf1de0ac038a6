//! Check-in at the door: a code is verified by its signature first (a forged or altered one
//! is refused without touching the database), then the ticket is admitted once, whatever
//! the number of concurrent scans: one conditional update decides.

use common::auth::AuthUser;
use contracts::{
    accounts::Role,
    tickets::{Admission, TicketState},
};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{Deps, TicketError};
use crate::{domain::code::TicketCode, storage::tickets};

pub async fn check_in(
    deps: &Deps,
    scanner: &AuthUser,
    code: &str,
) -> Result<Admission, TicketError> {
    let code = TicketCode::verify(code, &deps.signing_key.verifying_key())
        .map_err(|_| TicketError::InvalidCode)?;
    let client = deps.database.pool().get().await?;
    let ticket = tickets::find_ticket(&client, code.ticket_id)
        .await?
        .filter(|ticket| ticket.event_id == code.event_id)
        .ok_or(TicketError::InvalidCode)?;
    let may_scan = scanner.role == Role::Admin
        || ticket.organiser_id == scanner.id
        || tickets::is_staff(&client, ticket.event_id, scanner.id).await?;
    if !may_scan {
        // Someone else's event: as good as no ticket, telling nothing about it.
        return Err(TicketError::InvalidCode);
    }
    match tickets::check_in(&client, ticket.ticket_id, scanner.id).await? {
        Some(checked_in_at) => Ok(Admission {
            ticket_id: ticket.ticket_id,
            event_id: ticket.event_id,
            place: ticket.place,
            tier: ticket.tier,
            holder_name: ticket.holder_name,
            checked_in_at,
        }),
        None => {
            let now = tickets::find_ticket(&client, ticket.ticket_id)
                .await?
                .ok_or(TicketError::InvalidCode)?;
            Err(match now.state {
                TicketState::Used => TicketError::AlreadyUsed(
                    now.checked_in_at
                        .and_then(|at| at.format(&Rfc3339).ok())
                        .unwrap_or_default(),
                ),
                TicketState::Revoked => TicketError::Revoked,
                TicketState::Issuing => TicketError::NotReady,
                // Valid again cannot happen: a used ticket stays used.
                TicketState::Valid => TicketError::InvalidCode,
            })
        }
    }
}

/// The event's organiser names `account_id` as door staff for it.
pub async fn add_staff(
    deps: &Deps,
    organiser: &AuthUser,
    event_id: Uuid,
    account_id: Uuid,
) -> Result<(), TicketError> {
    let facts = deps.directory.event(event_id).await.map_err(|error| {
        tracing::info!(%event_id, error = format!("{error:#}"), "no such event for staff");
        TicketError::NotFound
    })?;
    if facts.organiser_id != organiser.id && organiser.role != Role::Admin {
        return Err(TicketError::NotFound);
    }
    let client = deps.database.pool().get().await?;
    tickets::add_staff(&client, event_id, account_id, organiser.id).await?;
    Ok(())
}
