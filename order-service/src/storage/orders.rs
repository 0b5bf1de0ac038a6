//! Orders and the places they claim. Places are locked with `FOR UPDATE SKIP LOCKED`, so a
//! reservation never waits for another: a place someone else is taking is simply not offered.

use std::collections::{HashMap, HashSet};

use common::postgres::CachedStatements;
use contracts::{
    orders::OrderState,
    purchases::{OrderPlace, RejectionReason},
};
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
        .query_cached(
            "SELECT purchase_id, state FROM orders WHERE purchase_id = ANY($1)",
            &[&purchase_ids],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Up to `$3` free places of tier `$2` of event `$1`, first in venue order, locked. Read in
/// order from `places_available`, as long as the planner knows the event (`inventory::analyze`).
pub const LOCK_BEST_AVAILABLE: &str =
    "SELECT p.place_id, p.tier_id, p.area_id, t.price_minor, t.currency
     FROM places p JOIN tiers t ON t.tier_id = p.tier_id
     WHERE p.event_id = $1 AND p.tier_id = $2 AND p.state = 'available'
     ORDER BY p.position LIMIT $3
     FOR UPDATE OF p SKIP LOCKED";

/// Locks up to `quantity` free places of a tier, first in venue order.
pub async fn lock_best_available(
    client: &impl GenericClient,
    event_id: Uuid,
    tier_id: Uuid,
    quantity: i64,
) -> Result<Vec<LockedPlace>, tokio_postgres::Error> {
    let rows = client
        .query_cached(LOCK_BEST_AVAILABLE, &[&event_id, &tier_id, &quantity])
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
        .query_cached(
            "SELECT p.place_id, p.tier_id, p.area_id, t.price_minor, t.currency
             FROM places p JOIN tiers t ON t.tier_id = p.tier_id
             WHERE p.event_id = $1 AND p.place_id = ANY($2) AND p.state = 'available'
             FOR UPDATE OF p SKIP LOCKED",
            &[&event_id, &seat_ids],
        )
        .await?;
    Ok(rows.iter().map(locked_place).collect())
}

/// Those of `place_ids` that are places of the event at all.
pub async fn known_places(
    client: &impl GenericClient,
    event_id: Uuid,
    place_ids: &[Uuid],
) -> Result<HashSet<Uuid>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT place_id FROM places WHERE event_id = $1 AND place_id = ANY($2)",
            &[&event_id, &place_ids],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Locks the buyers' rows (creating missing ones) in buyer order, so that concurrent batches
/// never wait on each other in a cycle; returns the places each buyer has now.
///
/// Each row is looked up by its whole key, one probe per buyer: an event's buyer rows are new
/// at its drop and unknown to the planner's statistics, and a plain `buyer_id = ANY($2)`
/// was planned as a read of every buyer row of the event, per batch.
pub async fn lock_buyers(
    client: &impl GenericClient,
    event_id: Uuid,
    buyer_ids: &[Uuid],
) -> Result<HashMap<Uuid, i32>, tokio_postgres::Error> {
    let mut sorted = buyer_ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    client
        .execute_cached(
            "INSERT INTO buyer_places (event_id, buyer_id, places)
             SELECT $1, buyer, 0 FROM unnest($2::uuid[]) AS b (buyer) ORDER BY buyer
             ON CONFLICT DO NOTHING",
            &[&event_id, &sorted],
        )
        .await?;
    let rows = client
        .query_cached(
            "SELECT b.buyer_id, b.places
             FROM unnest($2::uuid[]) AS k (buyer_id)
             CROSS JOIN LATERAL (
                 SELECT buyer_id, places FROM buyer_places
                 WHERE event_id = $1 AND buyer_id = k.buyer_id
                 FOR UPDATE
             ) AS b",
            &[&event_id, &sorted],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Sets the places of buyers locked by `lock_buyers`. Written as an upsert of rows that exist
/// for the same reason as there: a probe per buyer whatever the statistics say (an `UPDATE …
/// FROM unnest(…)` hashed all of the event's buyer rows to change a few dozen).
pub async fn set_buyer_places(
    client: &impl GenericClient,
    event_id: Uuid,
    places: &HashMap<Uuid, i32>,
) -> Result<(), tokio_postgres::Error> {
    let (buyers, counts): (Vec<Uuid>, Vec<i32>) = places.iter().map(|(b, n)| (*b, *n)).unzip();
    client
        .execute_cached(
            "INSERT INTO buyer_places (event_id, buyer_id, places)
             SELECT $1, * FROM unnest($2::uuid[], $3::integer[])
             ON CONFLICT (event_id, buyer_id) DO UPDATE SET places = EXCLUDED.places",
            &[&event_id, &buyers, &counts],
        )
        .await?;
    Ok(())
}

/// A decided purchase, ready to be written.
pub struct NewOrder {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub requested_at: OffsetDateTime,
    /// The places held, or why nothing was.
    pub outcome: Result<Vec<LockedPlace>, RejectionReason>,
    /// Places asked for.
    pub quantity: i32,
}

/// Writes a batch of orders of one event, `reserved` (claiming their places, held until
/// `hold_expires_at`) or `rejected`, in three statements.
pub async fn insert_orders(
    client: &impl GenericClient,
    event_id: Uuid,
    orders: &[NewOrder],
    hold_expires_at: OffsetDateTime,
) -> Result<(), tokio_postgres::Error> {
    let mut order_ids = Vec::new();
    let mut purchase_ids = Vec::new();
    let mut buyer_ids = Vec::new();
    let mut states = Vec::new();
    let mut reasons: Vec<Option<&str>> = Vec::new();
    let mut quantities = Vec::new();
    let mut amounts: Vec<i64> = Vec::new();
    let mut currencies: Vec<Option<&str>> = Vec::new();
    let mut holds: Vec<Option<OffsetDateTime>> = Vec::new();
    let mut requested = Vec::new();
    let (mut claim_orders, mut claim_places, mut claim_tiers, mut claim_prices) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for order in orders {
        order_ids.push(order.order_id);
        purchase_ids.push(order.purchase_id);
        buyer_ids.push(order.buyer_id);
        quantities.push(order.quantity);
        requested.push(order.requested_at);
        match &order.outcome {
            Ok(places) => {
                states.push("reserved");
                reasons.push(None);
                amounts.push(places.iter().map(|place| place.place.price_minor).sum());
                currencies.push(places.first().map(|place| place.currency.as_str()));
                holds.push(Some(hold_expires_at));
                for place in places {
                    claim_orders.push(order.order_id);
                    claim_places.push(place.place.place_id);
                    claim_tiers.push(place.place.tier_id);
                    claim_prices.push(place.place.price_minor);
                }
            }
            Err(reason) => {
                states.push("rejected");
                reasons.push(Some(reason.as_str()));
                amounts.push(0);
                currencies.push(None);
                holds.push(None);
            }
        }
    }
    client
        .execute_cached(
            "INSERT INTO orders (order_id, purchase_id, event_id, buyer_id, state, reason, quantity,
                                 amount_minor, currency, hold_expires_at, requested_at)
             SELECT o.order_id, o.purchase_id, $1, o.buyer_id, o.state, o.reason, o.quantity,
                    o.amount, o.currency, o.hold, o.requested
             FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                         $7::integer[], $8::bigint[], $9::text[], $10::timestamptz[],
                         $11::timestamptz[])
                  AS o (order_id, purchase_id, buyer_id, state, reason, quantity, amount,
                        currency, hold, requested)",
            &[
                &event_id,
                &order_ids,
                &purchase_ids,
                &buyer_ids,
                &states,
                &reasons,
                &quantities,
                &amounts,
                &currencies,
                &holds,
                &requested,
            ],
        )
        .await?;
    if claim_places.is_empty() {
        return Ok(());
    }
    client
        .execute_cached(
            "WITH claims AS (
                 SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[])
                          AS c (order_id, place_id, tier_id, price_minor)
             ), held AS (
                 UPDATE places p SET state = 'held', order_id = c.order_id
                 FROM claims c
                 WHERE p.event_id = $1 AND p.place_id = c.place_id
             )
             INSERT INTO order_places (order_id, event_id, place_id, tier_id, price_minor)
             SELECT order_id, $1, place_id, tier_id, price_minor FROM claims",
            &[
                &event_id,
                &claim_orders,
                &claim_places,
                &claim_tiers,
                &claim_prices,
            ],
        )
        .await?;
    Ok(())
}

/// An order that let its places go: they are on sale again.
#[derive(Debug, Clone)]
pub struct EndedHold {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub buyer_id: Uuid,
    pub event_id: Uuid,
    pub places_by_tier: Vec<(Uuid, i64)>,
    pub place_ids: Vec<Uuid>,
}

/// Locks up to `limit` reserved orders whose hold has run out (skipping those another
/// sweeper has locked).
pub async fn lock_expired_holds(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT order_id, event_id FROM orders
             WHERE state = 'reserved' AND hold_expires_at <= now()
             ORDER BY hold_expires_at LIMIT $1
             FOR UPDATE SKIP LOCKED",
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// An order as the flows see it.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub order_id: Uuid,
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub buyer_id: Uuid,
    pub state: OrderState,
    pub reason: Option<RejectionReason>,
    pub quantity: i32,
    pub amount_minor: i64,
    pub currency: Option<String>,
    pub hold_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

const ORDER_COLUMNS: &str = "order_id, purchase_id, event_id, buyer_id, state, reason, quantity,
                             amount_minor, currency, hold_expires_at, created_at";

fn order_record(row: &tokio_postgres::Row) -> OrderRecord {
    OrderRecord {
        order_id: row.get(0),
        purchase_id: row.get(1),
        event_id: row.get(2),
        buyer_id: row.get(3),
        state: OrderState::parse(row.get(4)).unwrap_or(OrderState::Rejected),
        reason: row
            .get::<_, Option<&str>>(5)
            .and_then(RejectionReason::parse),
        quantity: row.get(6),
        amount_minor: row.get(7),
        currency: row.get(8),
        hold_expires_at: row.get(9),
        created_at: row.get(10),
    }
}

/// Locks one order, of `buyer_id` if given; `None` if there is no such order (or it is
/// someone else's).
pub async fn lock_order(
    client: &impl GenericClient,
    order_id: Uuid,
    buyer_id: Option<Uuid>,
) -> Result<Option<OrderRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE order_id = $1 AND ($2::uuid IS NULL OR buyer_id = $2)
                 FOR UPDATE"
            ),
            &[&order_id, &buyer_id],
        )
        .await?;
    Ok(row.as_ref().map(order_record))
}

/// Locks up to `limit` orders of the event that still hold or own places, in order id order.
pub async fn lock_live_orders_of_event(
    client: &impl GenericClient,
    event_id: Uuid,
    limit: i64,
) -> Result<Vec<OrderRecord>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE event_id = $1 AND state IN ('reserved', 'paid', 'ticketed')
                 ORDER BY order_id LIMIT $2 FOR UPDATE"
            ),
            &[&event_id, &limit],
        )
        .await?;
    Ok(rows.iter().map(order_record).collect())
}

/// One order of `buyer_id`.
pub async fn find_order(
    client: &impl GenericClient,
    order_id: Uuid,
    buyer_id: Uuid,
) -> Result<Option<OrderRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt_cached(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND buyer_id = $2"),
            &[&order_id, &buyer_id],
        )
        .await?;
    Ok(row.as_ref().map(order_record))
}

/// The buyer's orders, newest first, after `after` (created_at, order_id) if given.
pub async fn list_orders(
    client: &impl GenericClient,
    buyer_id: Uuid,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<OrderRecord>, tokio_postgres::Error> {
    let (after_at, after_id) = after.unzip();
    let rows = client
        .query_cached(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE buyer_id = $1
                   AND ($2::timestamptz IS NULL OR (created_at, order_id) < ($2, $3))
                 ORDER BY created_at DESC, order_id DESC LIMIT $4"
            ),
            &[&buyer_id, &after_at, &after_id, &limit],
        )
        .await?;
    Ok(rows.iter().map(order_record).collect())
}

/// The places each order claims or claimed, in venue order.
pub async fn claims_of(
    client: &impl GenericClient,
    order_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderPlace>>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT c.order_id, c.place_id, c.tier_id, p.area_id, c.price_minor
             FROM order_places c
             JOIN places p ON p.event_id = c.event_id AND p.place_id = c.place_id
             WHERE c.order_id = ANY($1) ORDER BY p.position",
            &[&order_ids],
        )
        .await?;
    let mut claims: HashMap<Uuid, Vec<OrderPlace>> = HashMap::new();
    for row in &rows {
        claims.entry(row.get(0)).or_default().push(OrderPlace {
            place_id: row.get(1),
            tier_id: row.get(2),
            area_id: row.get(3),
            price_minor: row.get(4),
        });
    }
    Ok(claims)
}

/// The states each order went through after it was created, oldest first.
pub async fn transitions_of(
    client: &impl GenericClient,
    order_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(OrderState, OffsetDateTime)>>, tokio_postgres::Error> {
    let rows = client
        .query_cached(
            "SELECT order_id, state, at FROM order_transitions
             WHERE order_id = ANY($1) ORDER BY at",
            &[&order_ids],
        )
        .await?;
    let mut transitions: HashMap<Uuid, Vec<(OrderState, OffsetDateTime)>> = HashMap::new();
    for row in &rows {
        if let Some(state) = OrderState::parse(row.get(1)) {
            transitions
                .entry(row.get(0))
                .or_default()
                .push((state, row.get(2)));
        }
    }
    Ok(transitions)
}

async fn record_transitions(
    client: &impl GenericClient,
    order_ids: &[Uuid],
    state: OrderState,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute_cached(
            "INSERT INTO order_transitions (order_id, state)
             SELECT unnest($1::uuid[]), $2",
            &[&order_ids, &state.as_str()],
        )
        .await?;
    Ok(())
}

/// Sets a locked order's state, for changes that move no place (a refund after expiry).
pub async fn set_order_state(
    client: &impl GenericClient,
    order_id: Uuid,
    state: OrderState,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute_cached(
            "UPDATE orders SET state = $2, updated_at = now() WHERE order_id = $1",
            &[&order_id, &state.as_str()],
        )
        .await?;
    record_transitions(client, &[order_id], state).await
}

/// Moves a locked order whose places it claims to `paid`; its places become sold.
pub async fn mark_paid(
    client: &impl GenericClient,
    order_id: Uuid,
) -> Result<OffsetDateTime, tokio_postgres::Error> {
    let row = client
        .query_one_cached(
            "UPDATE orders SET state = 'paid', paid_at = now(), updated_at = now()
             WHERE order_id = $1 RETURNING paid_at",
            &[&order_id],
        )
        .await?;
    client
        .execute_cached(
            "UPDATE places p SET state = 'sold'
             FROM order_places c
             WHERE c.order_id = $1 AND c.active
               AND p.event_id = c.event_id AND p.place_id = c.place_id",
            &[&order_id],
        )
        .await?;
    record_transitions(client, &[order_id], OrderState::Paid).await?;
    Ok(row.get(0))
}

/// For an order whose hold ended before its payment arrived: claims its places again if every
/// one of them is still on sale (they are locked, not skipped: this is rare and must not
/// miss a place someone is releasing). Returns whether it did; if not, nothing changed.
pub async fn retake_places(
    client: &impl GenericClient,
    order: &OrderRecord,
) -> Result<bool, tokio_postgres::Error> {
    let places = client
        .query_cached(
            "SELECT p.state FROM places p
             JOIN order_places c ON p.event_id = c.event_id AND p.place_id = c.place_id
             WHERE c.order_id = $1
             ORDER BY p.place_id FOR UPDATE OF p",
            &[&order.order_id],
        )
        .await?;
    if places.is_empty()
        || places
            .iter()
            .any(|row| row.get::<_, &str>(0) != "available")
    {
        return Ok(false);
    }
    client
        .execute_cached(
            "WITH claims AS (
                 UPDATE order_places SET active = true WHERE order_id = $1
                 RETURNING event_id, place_id
             )
             UPDATE places p SET state = 'held', order_id = $1
             FROM claims c WHERE p.event_id = c.event_id AND p.place_id = c.place_id",
            &[&order.order_id],
        )
        .await?;
    client
        .execute_cached(
            "INSERT INTO buyer_places (event_id, buyer_id, places) VALUES ($1, $2, $3)
             ON CONFLICT (event_id, buyer_id) DO UPDATE SET places = buyer_places.places + $3",
            &[&order.event_id, &order.buyer_id, &order.quantity],
        )
        .await?;
    Ok(true)
}

/// Moves locked orders that are in one of `from` to `to` (`expired`, `cancelled`,
/// `refunded`) and puts their places back on sale.
pub async fn release_orders(
    client: &impl GenericClient,
    order_ids: &[Uuid],
    from: &[OrderState],
    to: OrderState,
) -> Result<Vec<EndedHold>, tokio_postgres::Error> {
    let from: Vec<&str> = from.iter().map(|state| state.as_str()).collect();
    let orders = client
        .query_cached(
            "UPDATE orders SET state = $2, updated_at = now()
             WHERE order_id = ANY($1) AND state = ANY($3)
             RETURNING order_id, purchase_id, buyer_id, event_id, quantity",
            &[&order_ids, &to.as_str(), &from],
        )
        .await?;
    let ended_ids: Vec<Uuid> = orders.iter().map(|row| row.get(0)).collect();
    if ended_ids.is_empty() {
        return Ok(Vec::new());
    }
    record_transitions(client, &ended_ids, to).await?;
    let released = client
        .query_cached(
            "WITH released AS (
                 UPDATE order_places SET active = false
                 WHERE order_id = ANY($1) AND active
                 RETURNING order_id, event_id, place_id, tier_id
             ), freed AS (
                 UPDATE places p SET state = 'available', order_id = NULL
                 FROM released r WHERE p.event_id = r.event_id AND p.place_id = r.place_id
             )
             SELECT order_id, tier_id, count(*), array_agg(place_id)
             FROM released GROUP BY order_id, tier_id",
            &[&ended_ids],
        )
        .await?;
    client
        .execute_cached(
            "UPDATE buyer_places b SET places = b.places - o.quantity
             FROM (SELECT event_id, buyer_id, sum(quantity)::integer AS quantity
                   FROM orders WHERE order_id = ANY($1) GROUP BY event_id, buyer_id) o
             WHERE b.event_id = o.event_id AND b.buyer_id = o.buyer_id",
            &[&ended_ids],
        )
        .await?;
    // order -> (places per tier, place ids)
    type Released = (Vec<(Uuid, i64)>, Vec<Uuid>);
    let mut places_by_order: HashMap<Uuid, Released> = HashMap::new();
    for row in &released {
        let (by_tier, place_ids) = places_by_order.entry(row.get(0)).or_default();
        by_tier.push((row.get(1), row.get(2)));
        place_ids.extend(row.get::<_, Vec<Uuid>>(3));
    }
    Ok(orders
        .iter()
        .map(|row| {
            let order_id: Uuid = row.get(0);
            let (places_by_tier, place_ids) = places_by_order.remove(&order_id).unwrap_or_default();
            EndedHold {
                order_id,
                purchase_id: row.get(1),
                buyer_id: row.get(2),
                event_id: row.get(3),
                places_by_tier,
                place_ids,
            }
        })
        .collect())
}
