//! The inventory of published events: built once from `event.published`, repriced, and
//! counted for the Redis counters.

use std::collections::HashSet;

use common::availability::SalesTerms;
use common::postgres::CachedStatements;
use contracts::events::{
    EventInventory, EventPublishedV1, PlaceState, PlaceStatus, TierInventory, TierPrice,
};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

/// Writes the event, its tiers and one row per place. Returns `false`, writing nothing, when
/// the event was built before (a redelivered `event.published`).
pub async fn insert_event(
    client: &impl GenericClient,
    event: &EventPublishedV1,
) -> Result<bool, tokio_postgres::Error> {
    let limit = i32::try_from(event.per_buyer_limit).unwrap_or(i32::MAX);
    let inserted = client
        .execute_cached(
            "INSERT INTO events (event_id, organiser_id, sales_open_at, sales_close_at, per_buyer_limit)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
            &[
                &event.event_id,
                &event.organiser_id,
                &event.sales_open_at,
                &event.sales_close_at,
                &limit,
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let tier_ids: Vec<Uuid> = event.tiers.iter().map(|tier| tier.tier_id).collect();
    let prices: Vec<i64> = event.tiers.iter().map(|tier| tier.price_minor).collect();
    let currencies: Vec<&str> = event
        .tiers
        .iter()
        .map(|tier| tier.currency.as_str())
        .collect();
    let seats: Vec<i32> = event
        .tiers
        .iter()
        .map(|tier| i32::try_from(tier.seat_ids.len()).unwrap_or(i32::MAX))
        .collect();
    client
        .execute_cached(
            "INSERT INTO tiers (event_id, tier_id, price_minor, currency, seats)
             SELECT $1, * FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::integer[])",
            &[&event.event_id, &tier_ids, &prices, &currencies, &seats],
        )
        .await?;

    let mut place_ids = Vec::new();
    let mut place_tiers = Vec::new();
    let mut place_areas: Vec<Option<Uuid>> = Vec::new();
    for tier in &event.tiers {
        for seat_id in &tier.seat_ids {
            place_ids.push(*seat_id);
            place_tiers.push(tier.tier_id);
            place_areas.push(None);
        }
        for area in &tier.areas {
            for _ in 0..area.capacity {
                place_ids.push(Uuid::now_v7());
                place_tiers.push(tier.tier_id);
                place_areas.push(Some(area.area_id));
            }
        }
    }
    let positions: Vec<i32> = (0..i32::try_from(place_ids.len()).unwrap_or(i32::MAX)).collect();
    client
        .execute_cached(
            "INSERT INTO places (event_id, place_id, tier_id, area_id, position)
             SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::integer[])",
            &[
                &event.event_id,
                &place_ids,
                &place_tiers,
                &place_areas,
                &positions,
            ],
        )
        .await?;
    Ok(true)
}

/// Refreshes the planner's statistics of tiers and places. Until then a published event's
/// rows are unknown to it: it expects one place for the event and plans the reservation
/// statements for one (each best-available lock read and sorted all of the event's places,
/// each claim hashed them all). At a 60,000-place drop Postgres took 62-64 % of a core
/// without it, 47 % with it.
pub async fn analyze(client: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("ANALYZE tiers, places").await
}

/// The event's tiers.
pub async fn tier_ids(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<HashSet<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT tier_id FROM tiers WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// New prices apply to orders made from now on; existing orders keep theirs.
pub async fn reprice(
    client: &impl GenericClient,
    event_id: Uuid,
    prices: &[TierPrice],
) -> Result<(), tokio_postgres::Error> {
    let tier_ids: Vec<Uuid> = prices.iter().map(|price| price.tier_id).collect();
    let amounts: Vec<i64> = prices.iter().map(|price| price.price_minor).collect();
    client
        .execute_cached(
            "UPDATE tiers t SET price_minor = p.price_minor
             FROM unnest($2::uuid[], $3::bigint[]) AS p (tier_id, price_minor)
             WHERE t.event_id = $1 AND t.tier_id = p.tier_id",
            &[&event_id, &tier_ids, &amounts],
        )
        .await?;
    Ok(())
}

/// Events whose counters are kept in Redis: every event still selling, or closed within a
/// day (late cancellations still give places back).
pub async fn live_event_ids(
    client: &impl GenericClient,
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT event_id FROM events
             WHERE sales_close_at IS NULL OR sales_close_at > now() - interval '1 day'
             ORDER BY event_id",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Marks the event cancelled (once; the first time is kept).
pub async fn mark_cancelled(
    client: &impl GenericClient,
    event_id: Uuid,
    cancelled_at: OffsetDateTime,
) -> Result<bool, tokio_postgres::Error> {
    let known = client
        .execute_cached(
            "UPDATE events SET cancelled_at = coalesce(cancelled_at, $2) WHERE event_id = $1",
            &[&event_id, &cancelled_at],
        )
        .await?;
    Ok(known == 1)
}

pub async fn is_cancelled(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            "SELECT cancelled_at IS NOT NULL FROM events WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    Ok(row.is_some_and(|row| row.get(0)))
}

pub async fn sales_terms(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Option<SalesTerms>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            // A cancelled event's sales closed when they opened: every request is refused.
            "SELECT sales_open_at,
                    CASE WHEN cancelled_at IS NULL THEN sales_close_at ELSE sales_open_at END,
                    per_buyer_limit
             FROM events WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    Ok(row.map(|row| SalesTerms {
        open_at: row.get::<_, OffsetDateTime>(0),
        close_at: row.get(1),
        per_buyer_limit: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
    }))
}

/// What an event has left: places on sale per tier, and seats held or sold.
pub struct Availability {
    /// Every tier, zero included.
    pub by_tier: Vec<(Uuid, i64)>,
    pub taken_seats: usize,
}

/// The event's availability, from its free places only (an index read of `places_available`):
/// the seats taken are the tiers' seats less the free ones.
pub async fn availability(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Availability, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT t.tier_id, count(p.place_id),
                    t.seats - count(p.place_id) FILTER (WHERE p.area_id IS NULL)
             FROM tiers t LEFT JOIN places p
               ON p.event_id = t.event_id AND p.tier_id = t.tier_id AND p.state = 'available'
             WHERE t.event_id = $1 GROUP BY t.tier_id, t.seats",
            &[&event_id],
        )
        .await?;
    let taken_seats: i64 = rows.iter().map(|row| row.get::<_, i64>(2)).sum();
    Ok(Availability {
        by_tier: rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
        taken_seats: usize::try_from(taken_seats).unwrap_or(0),
    })
}

/// Places each buyer holds or owns.
pub async fn places_by_buyer(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<(Uuid, i64)>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT buyer_id, places::bigint FROM buyer_places WHERE event_id = $1 AND places > 0",
            &[&event_id],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Seats held or sold.
pub async fn taken_seats(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT place_id FROM places
             WHERE event_id = $1 AND area_id IS NULL AND state <> 'available'",
            &[&event_id],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Seat id -> tier id, for admission of chosen seats.
pub async fn seat_tiers(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Vec<(Uuid, Uuid)>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT place_id, tier_id FROM places WHERE event_id = $1 AND area_id IS NULL",
            &[&event_id],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Takes the event's counter lock: shared by every transaction that changes places and
/// settles the counters before committing, exclusive for the reconciler, so that the
/// reconciler never reads Postgres and Redis half-way through one of them.
pub async fn lock_counters(
    client: &impl GenericClient,
    event_id: Uuid,
    exclusive: bool,
) -> Result<(), tokio_postgres::Error> {
    let key = counter_lock_key(event_id);
    let statement = if exclusive {
        "SELECT pg_advisory_xact_lock($1)"
    } else {
        "SELECT pg_advisory_xact_lock_shared($1)"
    };
    client.execute_cached(statement, &[&key]).await?;
    Ok(())
}

fn counter_lock_key(event_id: Uuid) -> i64 {
    let (high, _) = event_id.as_u64_pair();
    i64::from_ne_bytes(high.to_ne_bytes())
}

/// Places per tier and state, and the state of every numbered seat; `None` for an event
/// without inventory.
pub async fn inventory(
    client: &impl GenericClient,
    event_id: Uuid,
) -> Result<Option<EventInventory>, tokio_postgres::Error> {
    if sales_terms(client, event_id).await?.is_none() {
        return Ok(None);
    }
    let counts = client
        .query_cached(
            "SELECT tier_id,
                    count(*) FILTER (WHERE state = 'available'),
                    count(*) FILTER (WHERE state = 'held'),
                    count(*) FILTER (WHERE state = 'sold')
             FROM places WHERE event_id = $1 GROUP BY tier_id",
            &[&event_id],
        )
        .await?;
    let seats = client
        .query_cached(
            "SELECT place_id, state FROM places WHERE event_id = $1 AND area_id IS NULL",
            &[&event_id],
        )
        .await?;
    let count =
        |row: &tokio_postgres::Row, index| u64::try_from(row.get::<_, i64>(index)).unwrap_or(0);
    Ok(Some(EventInventory {
        event_id,
        tiers: counts
            .iter()
            .map(|row| TierInventory {
                tier_id: row.get(0),
                available: count(row, 1),
                held: count(row, 2),
                sold: count(row, 3),
            })
            .collect(),
        seats: seats
            .iter()
            .map(|row| PlaceStatus {
                place_id: row.get(0),
                state: match row.get::<_, &str>(1) {
                    "held" => PlaceState::Held,
                    "sold" => PlaceState::Sold,
                    _ => PlaceState::Available,
                },
            })
            .collect(),
    }))
}
