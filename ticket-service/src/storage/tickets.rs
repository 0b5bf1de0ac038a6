//! Tickets, refunded orders and check-in staff.

use contracts::tickets::TicketState;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct TicketRecord {
    pub ticket_id: Uuid,
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub place_id: Uuid,
    pub event_id: Uuid,
    pub organiser_id: Uuid,
    pub holder_id: Uuid,
    pub holder_name: String,
    pub event_title: String,
    pub starts_at: OffsetDateTime,
    pub venue: String,
    pub place: String,
    pub tier: String,
    pub state: TicketState,
    pub document_key: String,
    pub issued_at: OffsetDateTime,
    pub checked_in_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "ticket_id, order_id, purchase_id, place_id, event_id, organiser_id,
                       holder_id, holder_name, event_title, starts_at, venue, place, tier, state,
                       document_key, issued_at, checked_in_at";

fn record(row: &tokio_postgres::Row) -> TicketRecord {
    TicketRecord {
        ticket_id: row.get(0),
        order_id: row.get(1),
        purchase_id: row.get(2),
        place_id: row.get(3),
        event_id: row.get(4),
        organiser_id: row.get(5),
        holder_id: row.get(6),
        holder_name: row.get(7),
        event_title: row.get(8),
        starts_at: row.get(9),
        venue: row.get(10),
        place: row.get(11),
        tier: row.get(12),
        state: TicketState::parse(row.get(13)).unwrap_or(TicketState::Revoked),
        document_key: row.get(14),
        issued_at: row.get(15),
        checked_in_at: row.get(16),
    }
}

/// Serialises, until the transaction ends, everything done to one order's tickets (issuing
/// and revoking may run at the same time on different consumers).
pub async fn lock_order(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let (high, low) = order_id.as_u64_pair();
    let key = i64::from_ne_bytes((high ^ low).to_ne_bytes());
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&key])
        .await?;
    Ok(())
}

/// What every ticket of one order shares.
pub struct OrderTickets<'a> {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub organiser_id: Uuid,
    pub holder_id: Uuid,
    pub holder_name: &'a str,
    pub event_title: &'a str,
    pub starts_at: OffsetDateTime,
    pub venue: &'a str,
}

/// One ticket to issue: its place.
pub struct NewTicket {
    pub ticket_id: Uuid,
    pub place_id: Uuid,
    pub place: String,
    pub tier: String,
    pub document_key: String,
}

/// Records the order's tickets as issuing; places that have a ticket already are skipped.
pub async fn insert_tickets(
    client: &impl GenericClient,
    order: &OrderTickets<'_>,
    tickets: &[NewTicket],
) -> Result<u64, tokio_postgres::Error> {
    let ids: Vec<Uuid> = tickets.iter().map(|ticket| ticket.ticket_id).collect();
    let places: Vec<Uuid> = tickets.iter().map(|ticket| ticket.place_id).collect();
    let labels: Vec<&str> = tickets.iter().map(|ticket| ticket.place.as_str()).collect();
    let tiers: Vec<&str> = tickets.iter().map(|ticket| ticket.tier.as_str()).collect();
    let keys: Vec<&str> = tickets
        .iter()
        .map(|ticket| ticket.document_key.as_str())
        .collect();
    client
        .execute(
            "INSERT INTO tickets (ticket_id, order_id, purchase_id, place_id, event_id,
                                  organiser_id, holder_id, holder_name, event_title, starts_at,
                                  venue, place, tier, state, document_key)
             SELECT t.ticket_id, $1, $2, t.place_id, $3, $4, $5, $6, $7, $8, $9, t.place,
                    t.tier, 'issuing', t.document_key
             FROM unnest($10::uuid[], $11::uuid[], $12::text[], $13::text[], $14::text[])
                  AS t (ticket_id, place_id, place, tier, document_key)
             ON CONFLICT (order_id, place_id) DO NOTHING",
            &[
                &order.order_id,
                &order.purchase_id,
                &order.event_id,
                &order.organiser_id,
                &order.holder_id,
                &order.holder_name,
                &order.event_title,
                &order.starts_at,
                &order.venue,
                &ids,
                &places,
                &labels,
                &tiers,
                &keys,
            ],
        )
        .await
}

/// The order's tickets whose documents are not stored yet.
pub async fn issuing_tickets(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<Vec<TicketRecord>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM tickets WHERE order_id = $1 AND state = 'issuing'
                 ORDER BY place_id"
            ),
            &[&order_id],
        )
        .await?;
    Ok(rows.iter().map(record).collect())
}

/// Issuing tickets whose documents are stored become valid; returns those that did (a
/// ticket revoked meanwhile stays revoked).
pub async fn mark_valid(
    client: &impl GenericClient,
    ticket_ids: &[Uuid],
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query(
            "UPDATE tickets SET state = 'valid'
             WHERE ticket_id = ANY($1) AND state = 'issuing' RETURNING ticket_id",
            &[&ticket_ids],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub async fn is_revoked_order(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 1 FROM revoked_orders WHERE order_id = $1",
            &[&order_id],
        )
        .await?;
    Ok(row.is_some())
}

/// Marks the order refunded and revokes its tickets; returns the revoked tickets with their
/// document keys (none the second time).
pub async fn revoke_order(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<Vec<(Uuid, String)>, tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO revoked_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&order_id],
        )
        .await?;
    let rows = client
        .query(
            "UPDATE tickets SET state = 'revoked', revoked_at = now()
             WHERE order_id = $1 AND state <> 'revoked' RETURNING ticket_id, document_key",
            &[&order_id],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The document keys of the order's tickets.
pub async fn document_keys_of_order(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT document_key FROM tickets WHERE order_id = $1",
            &[&order_id],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The document keys of those of `ticket_ids` that are revoked.
pub async fn revoked_document_keys(
    client: &impl GenericClient,
    ticket_ids: &[Uuid],
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT document_key FROM tickets WHERE ticket_id = ANY($1) AND state = 'revoked'",
            &[&ticket_ids],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub async fn find_ticket(
    client: &impl GenericClient,
    ticket_id: Uuid,
) -> Result<Option<TicketRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM tickets WHERE ticket_id = $1"),
            &[&ticket_id],
        )
        .await?;
    Ok(row.as_ref().map(record))
}

/// The holder's tickets, newest first, after `after` (issued_at, ticket_id) if given.
pub async fn list_tickets(
    client: &impl GenericClient,
    holder_id: Uuid,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<TicketRecord>, tokio_postgres::Error> {
    let (after_at, after_id) = after.unzip();
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM tickets
                 WHERE holder_id = $1
                   AND ($2::timestamptz IS NULL OR (issued_at, ticket_id) < ($2, $3))
                 ORDER BY issued_at DESC, ticket_id DESC LIMIT $4"
            ),
            &[&holder_id, &after_at, &after_id, &limit],
        )
        .await?;
    Ok(rows.iter().map(record).collect())
}

/// Admits a valid ticket, once: of concurrent scans exactly one gets the time back.
pub async fn check_in(
    client: &impl GenericClient,
    ticket_id: Uuid,
    scanned_by: Uuid,
) -> Result<Option<OffsetDateTime>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "UPDATE tickets SET state = 'used', checked_in_at = now(), checked_in_by = $2
             WHERE ticket_id = $1 AND state = 'valid' RETURNING checked_in_at",
            &[&ticket_id, &scanned_by],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

pub async fn is_staff(
    client: &impl GenericClient,
    event_id: Uuid,
    account_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 1 FROM checkin_staff WHERE event_id = $1 AND account_id = $2",
            &[&event_id, &account_id],
        )
        .await?;
    Ok(row.is_some())
}

pub async fn add_staff(
    client: &impl GenericClient,
    event_id: Uuid,
    account_id: Uuid,
    named_by: Uuid,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO checkin_staff (event_id, account_id, named_by) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&event_id, &account_id, &named_by],
        )
        .await?;
    Ok(())
}
