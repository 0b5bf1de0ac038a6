//! Events, their tiers, and what publishing reads.

use std::collections::HashMap;

use contracts::events::{
    AreaLabel, Event, EventStatus, PublishedArea, PublishedTier, Tier, VenueSummary,
};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::domain::{EventDraft, EventText, TierDraft};

pub async fn insert_event(
    client: &impl GenericClient,
    organiser_id: Uuid,
    venue_id: Uuid,
    text: &EventText,
    draft: &EventDraft,
) -> Result<Uuid, tokio_postgres::Error> {
    let id = Uuid::now_v7();
    let limit = i32::try_from(draft.per_buyer_limit).unwrap_or(i32::MAX);
    client
        .execute(
            "INSERT INTO events (id, organiser_id, venue_id, title, description, category,
                                 starts_at, sales_open_at, sales_close_at, per_buyer_limit, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft')",
            &[
                &id,
                &organiser_id,
                &venue_id,
                &text.title,
                &text.description,
                &text.category,
                &draft.starts_at,
                &draft.sales_open_at,
                &draft.sales_close_at,
                &limit,
            ],
        )
        .await?;
    Ok(id)
}

/// Replaces all tiers of a draft event with `tiers`.
pub async fn replace_tiers(
    client: &impl GenericClient,
    event_id: Uuid,
    tiers: &[TierDraft],
) -> Result<(), tokio_postgres::Error> {
    client
        .execute("DELETE FROM tiers WHERE event_id = $1", &[&event_id])
        .await?;
    for (position, tier) in tiers.iter().enumerate() {
        let tier_id = Uuid::now_v7();
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        // Capacity is counted once here; the sections and areas are the venue's, which do not
        // change.
        client
            .execute(
                "INSERT INTO tiers (id, event_id, name, price_minor, currency, position, capacity)
                 VALUES ($1, $2, $3, $4, $5, $6,
                         (SELECT count(*) FROM venue_seats WHERE section_id = ANY($7))
                       + (SELECT COALESCE(sum(capacity), 0) FROM venue_areas WHERE id = ANY($8)))",
                &[
                    &tier_id,
                    &event_id,
                    &tier.name,
                    &tier.price_minor,
                    &tier.currency,
                    &position,
                    &tier.section_ids,
                    &tier.area_ids,
                ],
            )
            .await?;
        client
            .execute(
                "INSERT INTO tier_sections (event_id, section_id, tier_id)
                 SELECT $1, section_id, $2 FROM unnest($3::uuid[]) AS s (section_id)",
                &[&event_id, &tier_id, &tier.section_ids],
            )
            .await?;
        client
            .execute(
                "INSERT INTO tier_areas (event_id, area_id, tier_id)
                 SELECT $1, area_id, $2 FROM unnest($3::uuid[]) AS a (area_id)",
                &[&event_id, &tier_id, &tier.area_ids],
            )
            .await?;
    }
    Ok(())
}

/// Who owns an event, whether it is published, and its schedule, as locked for a change.
#[derive(Debug, Clone)]
pub struct LockedEvent {
    pub organiser_id: Uuid,
    pub venue_id: Uuid,
    pub status: EventStatus,
    pub starts_at: OffsetDateTime,
    pub sales_open_at: OffsetDateTime,
    pub sales_close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
}

pub async fn lock_event(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Option<LockedEvent>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT organiser_id, venue_id, status, starts_at, sales_open_at, sales_close_at,
                    per_buyer_limit
             FROM events WHERE id = $1 FOR UPDATE",
            &[&event_id],
        )
        .await?;
    Ok(row.map(|row| LockedEvent {
        organiser_id: row.get(0),
        venue_id: row.get(1),
        status: status(row.get(2)),
        starts_at: row.get(3),
        sales_open_at: row.get(4),
        sales_close_at: row.get(5),
        per_buyer_limit: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
    }))
}

pub async fn update_text(
    client: &impl GenericClient,
    event_id: Uuid,
    text: &EventText,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE events SET title = $2, description = $3, category = $4, updated_at = now()
             WHERE id = $1",
            &[&event_id, &text.title, &text.description, &text.category],
        )
        .await?;
    Ok(())
}

pub async fn update_schedule(
    client: &impl GenericClient,
    event_id: Uuid,
    schedule: &LockedEvent,
) -> Result<(), tokio_postgres::Error> {
    let limit = i32::try_from(schedule.per_buyer_limit).unwrap_or(i32::MAX);
    client
        .execute(
            "UPDATE events SET starts_at = $2, sales_open_at = $3, sales_close_at = $4,
                               per_buyer_limit = $5, updated_at = now()
             WHERE id = $1",
            &[
                &event_id,
                &schedule.starts_at,
                &schedule.sales_open_at,
                &schedule.sales_close_at,
                &limit,
            ],
        )
        .await?;
    Ok(())
}

/// Sets a tier's price; `false` when the tier is not one of this event's.
pub async fn update_tier_price(
    client: &impl GenericClient,
    event_id: Uuid,
    tier_id: Uuid,
    price_minor: i64,
) -> Result<bool, tokio_postgres::Error> {
    let updated = client
        .execute(
            "UPDATE tiers SET price_minor = $3 WHERE id = $2 AND event_id = $1",
            &[&event_id, &tier_id, &price_minor],
        )
        .await?;
    Ok(updated == 1)
}

pub async fn mark_published(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE events SET status = 'published', published_at = now(), updated_at = now()
             WHERE id = $1 AND status = 'draft'",
            &[&event_id],
        )
        .await?;
    Ok(())
}

/// Returns when the published event was cancelled.
pub async fn mark_cancelled(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<time::OffsetDateTime, tokio_postgres::Error> {
    let row = client
        .query_one(
            "UPDATE events SET status = 'cancelled', cancelled_at = now(), updated_at = now()
             WHERE id = $1 AND status = 'published' RETURNING cancelled_at",
            &[&event_id],
        )
        .await?;
    Ok(row.get(0))
}

/// Every seat and area of a published event, by tier: the inventory order-service builds.
pub async fn published_inventory(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<PublishedTier>, tokio_postgres::Error> {
    let tiers = client
        .query(
            "SELECT id, price_minor, currency FROM tiers WHERE event_id = $1 ORDER BY position",
            &[&event_id],
        )
        .await?;
    // Venue order, which order-service keeps: neighbours in a row stay neighbours.
    let seats = seats(client, event_id).await?;
    let areas = client
        .query(
            "SELECT ta.tier_id, a.id, a.capacity FROM tier_areas ta
             JOIN venue_areas a ON a.id = ta.area_id WHERE ta.event_id = $1",
            &[&event_id],
        )
        .await?;
    let mut seats_by_tier: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for seat in &seats {
        seats_by_tier.entry(seat.tier_id).or_default().push(seat.id);
    }
    let mut areas_by_tier: HashMap<Uuid, Vec<PublishedArea>> = HashMap::new();
    for row in &areas {
        areas_by_tier
            .entry(row.get(0))
            .or_default()
            .push(PublishedArea {
                area_id: row.get(1),
                capacity: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
            });
    }
    Ok(tiers
        .iter()
        .map(|row| {
            let tier_id: Uuid = row.get(0);
            PublishedTier {
                tier_id,
                price_minor: row.get(1),
                currency: row.get(2),
                seat_ids: seats_by_tier.remove(&tier_id).unwrap_or_default(),
                areas: areas_by_tier.remove(&tier_id).unwrap_or_default(),
            }
        })
        .collect())
}

fn status(value: &str) -> EventStatus {
    match value {
        "published" => EventStatus::Published,
        "cancelled" => EventStatus::Cancelled,
        // The CHECK constraint admits only 'draft' otherwise.
        _ => EventStatus::Draft,
    }
}

/// Catalog filters; `None` means no filter.
pub struct CatalogFilter<'a> {
    pub query: Option<&'a str>,
    pub category: Option<&'a str>,
    pub city: Option<&'a str>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

/// One catalog hit: where it sorts, so that the next page can start after it.
pub struct CatalogHit {
    pub id: Uuid,
    /// Relevance to the search words; `None` when there are none.
    pub rank: Option<f32>,
    pub starts_at: OffsetDateTime,
}

/// Published events matching `filter`: by relevance then date when there are search words,
/// by date otherwise; after the keyset `(rank, starts_at, id)` of the previous page's last.
pub async fn list_published(
    client: &impl GenericClient,
    filter: &CatalogFilter<'_>,
    after: Option<(Option<f32>, OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<CatalogHit>, tokio_postgres::Error> {
    let (after_rank, after_at, after_id) = match after {
        Some((rank, at, id)) => (rank, Some(at), Some(id)),
        None => (None, None, None),
    };
    let rows = client
        .query(
            "WITH hits AS (
                 SELECT e.id, e.starts_at,
                        CASE WHEN $1::text IS NULL THEN NULL
                             ELSE ts_rank(e.search, websearch_to_tsquery('simple', $1)) END AS rank
                 FROM events e JOIN venues v ON v.id = e.venue_id
                 WHERE e.status = 'published'
                   AND ($1::text IS NULL OR e.search @@ websearch_to_tsquery('simple', $1))
                   AND ($2::text IS NULL OR e.category = lower($2))
                   AND ($3::text IS NULL OR lower(v.city) = lower($3))
                   AND ($4::timestamptz IS NULL OR e.starts_at >= $4)
                   AND ($5::timestamptz IS NULL OR e.starts_at < $5)
             )
             SELECT id, rank, starts_at FROM hits
             WHERE $7::timestamptz IS NULL
                OR ($6::real IS NULL AND (starts_at, id) > ($7, $8))
                OR rank < $6
                OR (rank = $6 AND (starts_at, id) > ($7, $8))
             ORDER BY rank DESC NULLS LAST, starts_at, id LIMIT $9",
            &[
                &filter.query,
                &filter.category,
                &filter.city,
                &filter.from,
                &filter.to,
                &after_rank,
                &after_at,
                &after_id,
                &limit,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| CatalogHit {
            id: row.get(0),
            rank: row.get(1),
            starts_at: row.get(2),
        })
        .collect())
}

/// Loads events with their venue and tiers, in the order of `ids`.
pub async fn load_events(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<Event>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT e.id, e.organiser_id, e.title, e.description, e.category, e.starts_at,
                    e.sales_open_at, e.sales_close_at, e.per_buyer_limit, e.status,
                    v.id, v.name, v.city, v.address
             FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = ANY($1)",
            &[&ids],
        )
        .await?;
    let tier_rows = client
        .query(
            "SELECT event_id, id, name, price_minor, currency, capacity
             FROM tiers WHERE event_id = ANY($1) ORDER BY position",
            &[&ids],
        )
        .await?;
    let mut tiers: HashMap<Uuid, Vec<Tier>> = HashMap::new();
    for row in &tier_rows {
        tiers.entry(row.get(0)).or_default().push(Tier {
            id: row.get(1),
            name: row.get(2),
            price_minor: row.get(3),
            currency: row.get(4),
            capacity: u64::try_from(row.get::<_, i64>(5)).unwrap_or(0),
        });
    }
    let mut events: HashMap<Uuid, Event> = rows
        .iter()
        .map(|row| {
            let event = event_from_row(row, &mut tiers);
            (event.id, event)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| events.remove(id)).collect())
}

fn event_from_row(row: &Row, tiers: &mut HashMap<Uuid, Vec<Tier>>) -> Event {
    let id: Uuid = row.get(0);
    Event {
        id,
        organiser_id: row.get(1),
        title: row.get(2),
        description: row.get(3),
        category: row.get(4),
        starts_at: row.get(5),
        sales_open_at: row.get(6),
        sales_close_at: row.get(7),
        per_buyer_limit: u32::try_from(row.get::<_, i32>(8)).unwrap_or(0),
        status: status(row.get(9)),
        venue: VenueSummary {
            id: row.get(10),
            name: row.get(11),
            city: row.get(12),
            address: row.get(13),
        },
        tiers: tiers.remove(&id).unwrap_or_default(),
    }
}

/// A numbered seat of an event, with the tier it is sold in.
pub struct EventSeat {
    pub id: Uuid,
    pub section: String,
    pub row: String,
    pub number: u32,
    pub tier_id: Uuid,
}

/// Every numbered seat of the event, in venue order (section, row, number).
pub async fn seats(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<EventSeat>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT s.id, vs.name, s.row_label, s.seat_number, ts.tier_id
             FROM tier_sections ts
             JOIN venue_seats s ON s.section_id = ts.section_id
             JOIN venue_sections vs ON vs.id = s.section_id
             WHERE ts.event_id = $1
             ORDER BY vs.position, s.row_position, s.seat_number",
            &[&event_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| EventSeat {
            id: row.get(0),
            section: row.get(1),
            row: row.get(2),
            number: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
            tier_id: row.get(4),
        })
        .collect())
}

/// Every general-admission area of the event, with its tier, in venue order.
pub async fn areas(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<AreaLabel>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT a.id, a.name, ta.tier_id
             FROM tier_areas ta JOIN venue_areas a ON a.id = ta.area_id
             WHERE ta.event_id = $1 ORDER BY a.position",
            &[&event_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| AreaLabel {
            area_id: row.get(0),
            name: row.get(1),
            tier_id: row.get(2),
        })
        .collect())
}
