//! Orders and the places they claim. Places are locked with `FOR UPDATE SKIP LOCKED`, so a
//! reservation never waits for another: a place someone else is taking is simply not offered.

use std::collections::HashMap;

use contracts::purchases::{OrderPlace, RejectionReason};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

/// A place locked by the current transaction, with its price.
#[derive(Debug, Clone)]
pub struct LockedPlace {
    pub place: OrderPlace,
    pub currency: String,
}

fn locked_place(row: &tokio_postgres::Row) -> LockedPlace {
    LockedPlace {
        place: OrderPlace {
            place_id: row.get(0),
            tier_id: row.get(1),
            area_id: row.get(2),
            price_minor: row.get(3),
        },
        currency: row.get(4),
    }
}

/// The purchases of `purchase_ids` that already have an order, with their state.
pub async fn decided_purchases(
    client: &impl GenericClient,
    purchase_ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT purchase_id, state FROM orders WHERE purchase_id = ANY($1)",
            &[&purchase_ids],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Locks up to `quantity` free places of a tier, first in venue order.
pub async fn lock_best_available(
    client: &impl GenericClient,
    event_id: Uuid,
    tier_id: Uuid,
    quantity: u32,
) -> Result<Vec<LockedPlace>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT p.place_id, p.tier_id, p.area_id, t.price_minor, t.currency
             FROM places p JOIN tiers t ON t.tier_id = p.tier_id
             WHERE p.event_id = $1 AND p.tier_id = $2 AND p.state = 'available'
             ORDER BY p.position LIMIT $3
             FOR UPDATE OF p SKIP LOCKED",
            &[&event_id, &tier_id, &i64::from(quantity)],
        )
        .await?;
    Ok(rows.iter().map(locked_place).collect())
}

/// Locks those of `seat_ids` that are free and not being taken by someone else right now.
pub async fn lock_seats(
    client: &impl GenericClient,
    event_id: Uuid,
    seat_ids: &[Uuid],
) -> Result<Vec<LockedPlace>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT p.place_id, p.tier_id, p.area_id, t.price_minor, t.currency
             FROM places p JOIN tiers t ON t.tier_id = p.tier_id
             WHERE p.event_id = $1 AND p.place_id = ANY($2) AND p.state = 'available'
             FOR UPDATE OF p SKIP LOCKED",
            &[&event_id, &seat_ids],
        )
        .await?;
    Ok(rows.iter().map(locked_place).collect())
}

/// How many of `place_ids` are places of the event at all.
pub async fn count_places(
    client: &impl GenericClient,
    event_id: Uuid,
    place_ids: &[Uuid],
) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*) FROM places WHERE event_id = $1 AND place_id = ANY($2)",
            &[&event_id, &place_ids],
        )
        .await?;
    Ok(row.get(0))
}

pub async fn tier_exists(
    client: &impl GenericClient,
    event_id: Uuid,
    tier_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 1 FROM tiers WHERE event_id = $1 AND tier_id = $2",
            &[&event_id, &tier_id],
        )
        .await?;
    Ok(row.is_some())
}

/// Counts `places` more for the buyer if that stays within `limit`; the row lock taken here
/// serialises the buyer's concurrent purchases. Returns whether it did.
pub async fn add_buyer_places(
    client: &impl GenericClient,
    event_id: Uuid,
    buyer_id: Uuid,
    places: i32,
    limit: i32,
) -> Result<bool, tokio_postgres::Error> {
    if places > limit {
        return Ok(false);
    }
    let row = client
        .query_opt(
            "INSERT INTO buyer_places AS b (event_id, buyer_id, places) VALUES ($1, $2, $3)
             ON CONFLICT (event_id, buyer_id)
             DO UPDATE SET places = b.places + EXCLUDED.places
             WHERE b.places + EXCLUDED.places <= $4
             RETURNING places",
            &[&event_id, &buyer_id, &places, &limit],
        )
        .await?;
    Ok(row.is_some())
}

/// What an accepted or refused purchase becomes.
pub struct NewOrder {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub buyer_id: Uuid,
    pub requested_at: OffsetDateTime,
    pub quantity: i32,
}

/// Creates a `reserved` order holding `places` until `hold_expires_at`.
pub async fn insert_reserved(
    client: &impl GenericClient,
    order: &NewOrder,
    places: &[LockedPlace],
    hold_expires_at: OffsetDateTime,
) -> Result<(), tokio_postgres::Error> {
    let amount: i64 = places.iter().map(|place| place.place.price_minor).sum();
    let currency = places.first().map(|place| place.currency.as_str());
    let place_ids: Vec<Uuid> = places.iter().map(|place| place.place.place_id).collect();
    let tier_ids: Vec<Uuid> = places.iter().map(|place| place.place.tier_id).collect();
    let prices: Vec<i64> = places.iter().map(|place| place.place.price_minor).collect();
    client
        .execute(
            "WITH new_order AS (
                 INSERT INTO orders (order_id, purchase_id, event_id, buyer_id, state, quantity,
                                     amount_minor, currency, hold_expires_at, requested_at)
                 VALUES ($1, $2, $3, $4, 'reserved', $5, $6, $7, $8, $9)
                 RETURNING order_id
             ), claimed AS (
                 UPDATE places SET state = 'held', order_id = $1
                 WHERE event_id = $3 AND place_id = ANY($10)
             )
             INSERT INTO order_places (order_id, event_id, place_id, tier_id, price_minor)
             SELECT (SELECT order_id FROM new_order), $3, *
             FROM unnest($10::uuid[], $11::uuid[], $12::bigint[])",
            &[
                &order.order_id,
                &order.purchase_id,
                &order.event_id,
                &order.buyer_id,
                &order.quantity,
                &amount,
                &currency,
                &hold_expires_at,
                &order.requested_at,
                &place_ids,
                &tier_ids,
                &prices,
            ],
        )
        .await?;
    Ok(())
}

/// Records a refused purchase, so that a redelivered request finds it decided.
pub async fn insert_rejected(
    client: &impl GenericClient,
    order: &NewOrder,
    reason: RejectionReason,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO orders (order_id, purchase_id, event_id, buyer_id, state, reason,
                                 quantity, requested_at)
             VALUES ($1, $2, $3, $4, 'rejected', $5, $6, $7)",
            &[
                &order.order_id,
                &order.purchase_id,
                &order.event_id,
                &order.buyer_id,
                &rejection_reason_name(reason),
                &order.quantity,
                &order.requested_at,
            ],
        )
        .await?;
    Ok(())
}

fn rejection_reason_name(reason: RejectionReason) -> &'static str {
    match reason {
        RejectionReason::SoldOut => "sold_out",
        RejectionReason::SeatTaken => "seat_taken",
        RejectionReason::PurchaseLimitExceeded => "purchase_limit_exceeded",
        RejectionReason::SalesNotOpen => "sales_not_open",
        RejectionReason::SalesClosed => "sales_closed",
        RejectionReason::UnknownPlace => "unknown_place",
    }
}

/// A hold that ended: its places are on sale again.
#[derive(Debug, Clone)]
pub struct EndedHold {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub places_by_tier: Vec<(Uuid, i64)>,
}

/// Locks up to `limit` reserved orders whose hold has run out (skipping those another
/// sweeper has locked).
pub async fn lock_expired_holds(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT order_id, event_id FROM orders
             WHERE state = 'reserved' AND hold_expires_at <= now()
             ORDER BY hold_expires_at LIMIT $1
             FOR UPDATE SKIP LOCKED",
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Locks one reserved order of `buyer_id`; `None` if it is not theirs or not reserved.
pub async fn lock_reserved_order(
    client: &impl GenericClient,
    order_id: Uuid,
    buyer_id: Uuid,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT event_id FROM orders
             WHERE order_id = $1 AND buyer_id = $2 AND state = 'reserved'
             FOR UPDATE",
            &[&order_id, &buyer_id],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Moves locked reserved orders to `state` (`expired` or `cancelled`) and puts their places
/// back on sale.
pub async fn end_holds(
    client: &impl GenericClient,
    order_ids: &[Uuid],
    state: &str,
) -> Result<Vec<EndedHold>, tokio_postgres::Error> {
    let orders = client
        .query(
            "UPDATE orders SET state = $2, updated_at = now()
             WHERE order_id = ANY($1) AND state = 'reserved'
             RETURNING order_id, purchase_id, buyer_id, event_id, quantity",
            &[&order_ids, &state],
        )
        .await?;
    let released = client
        .query(
            "WITH released AS (
                 UPDATE order_places SET active = false
                 WHERE order_id = ANY($1) AND active
                 RETURNING order_id, event_id, place_id, tier_id
             ), freed AS (
                 UPDATE places p SET state = 'available', order_id = NULL
                 FROM released r WHERE p.event_id = r.event_id AND p.place_id = r.place_id
             )
             SELECT order_id, tier_id, count(*) FROM released GROUP BY order_id, tier_id",
            &[&order_ids],
        )
        .await?;
    client
        .execute(
            "UPDATE buyer_places b SET places = b.places - o.quantity
             FROM (SELECT event_id, buyer_id, sum(quantity)::integer AS quantity
                   FROM orders WHERE order_id = ANY($1) GROUP BY event_id, buyer_id) o
             WHERE b.event_id = o.event_id AND b.buyer_id = o.buyer_id",
            &[&order_ids],
        )
        .await?;
    let mut places_by_order: HashMap<Uuid, Vec<(Uuid, i64)>> = HashMap::new();
    for row in &released {
        places_by_order
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2)));
    }
    Ok(orders
        .iter()
        .map(|row| {
            let order_id: Uuid = row.get(0);
            EndedHold {
                order_id,
                purchase_id: row.get(1),
                buyer_id: row.get(2),
                event_id: row.get(3),
                places_by_tier: places_by_order.remove(&order_id).unwrap_or_default(),
            }
        })
        .collect())
}
