//! Turning purchase requests into orders, a batch of one event's requests per transaction and
//! a handful of statements per batch, whatever its size:
//!
//! 1. the buyers' rows are locked (in buyer order: concurrent batches cannot deadlock);
//! 2. free places are locked with `SKIP LOCKED`: for each tier asked for, as many as the batch
//!    asks in venue order; every chosen seat asked for;
//! 3. requests are decided in arrival order, in memory: sales window, per-buyer limit, places;
//! 4. orders, claims and buyer counts are written set-based, the batch's decisions go to the
//!    outbox as one `purchases.decided` message, the Redis counters are settled, and the
//!    transaction committed. Messages are acked after that.
//!
//! A redelivered request finds its order and changes nothing.

use std::collections::{HashMap, HashSet, VecDeque};

use common::{
    amqp::{ExchangeRole, outbox},
    availability::{self, SalesTerms, Settlement},
};
use contracts::{
    Envelope,
    purchases::{
        OrderRejectedV1, OrderReservedV1, PurchaseRequestedV1, PurchasesDecidedV1, RejectionReason,
        Selection,
    },
};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Deps;
use crate::storage::{
    inventory,
    orders::{self, LockedPlace, NewOrder},
};

/// Reserves `requests`, all of `event_id`, in one transaction.
pub async fn reserve_batch(
    deps: &Deps,
    event_id: Uuid,
    requests: &[PurchaseRequestedV1],
) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    inventory::lock_counters(&transaction, event_id, false).await?;
    let purchase_ids: Vec<Uuid> = requests.iter().map(|request| request.purchase_id).collect();
    let already_decided = orders::decided_purchases(&transaction, &purchase_ids).await?;
    let mut settlements: Vec<(Uuid, Settlement)> = already_decided
        .iter()
        .map(|(purchase_id, state)| (*purchase_id, settlement_of_state(state)))
        .collect();
    let mut seen: HashSet<Uuid> = already_decided.keys().copied().collect();
    let mut taken_seats: Vec<Uuid> = Vec::new();
    let fresh: Vec<&PurchaseRequestedV1> = requests
        .iter()
        .filter(|request| seen.insert(request.purchase_id))
        .collect();

    if !fresh.is_empty() {
        let orders = match inventory::sales_terms(&transaction, event_id).await? {
            Some(terms) => decide(&transaction, event_id, terms, &fresh).await?,
            None => fresh
                .iter()
                .map(|request| new_order(request, Err(RejectionReason::UnknownPlace)))
                .collect(),
        };
        let hold_expires_at = OffsetDateTime::now_utc() + deps.reservations.hold_duration;
        orders::insert_orders(&transaction, event_id, &orders, hold_expires_at).await?;
        let decided = decisions(event_id, &fresh, &orders, hold_expires_at);
        outbox::enqueue(
            &transaction,
            ExchangeRole::Events,
            &Envelope::new(Uuid::now_v7(), decided),
        )
        .await?;
        taken_seats.extend(
            orders
                .iter()
                .filter_map(|order| order.outcome.as_ref().ok())
                .flatten()
                .filter(|place| place.place.area_id.is_none())
                .map(|place| place.place.place_id),
        );
        settlements.extend(orders.iter().map(|order| {
            let settlement = match order.outcome {
                Ok(_) => Settlement::Used,
                Err(_) => Settlement::GivenBack,
            };
            (order.purchase_id, settlement)
        }));
    }

    // Settled before the commit, under the counter lock: the reconciler never sees a batch
    // half-way. Should the commit fail, the counters are off until the next reconciliation,
    // and Postgres still decides.
    availability::settle(&deps.redis, event_id, &settlements).await?;
    availability::mark_taken(&deps.redis, event_id, &taken_seats).await?;
    transaction.commit().await?;
    deps.outbox.wake();
    Ok(())
}

/// How a purchase already decided in Postgres settles its admission.
pub(crate) fn settlement_of_state(state: &str) -> Settlement {
    if state == "rejected" {
        Settlement::GivenBack
    } else {
        Settlement::Used
    }
}

fn new_order(
    request: &PurchaseRequestedV1,
    outcome: Result<Vec<LockedPlace>, RejectionReason>,
) -> NewOrder {
    let purchase = request;
    NewOrder {
        order_id: Uuid::now_v7(),
        purchase_id: purchase.purchase_id,
        buyer_id: purchase.buyer_id,
        requested_at: purchase.requested_at,
        quantity: i32::try_from(purchase.selection.place_count()).unwrap_or(i32::MAX),
        outcome,
    }
}

/// Locks what the batch needs, then decides each request in arrival order.
async fn decide(
    client: &impl GenericClient,
    event_id: Uuid,
    terms: SalesTerms,
    requests: &[&PurchaseRequestedV1],
) -> anyhow::Result<Vec<NewOrder>> {
    let buyer_ids: Vec<Uuid> = requests.iter().map(|request| request.buyer_id).collect();
    let mut held = orders::lock_buyers(client, event_id, &buyer_ids).await?;
    let initially_held = held.clone();

    let mut wanted_by_tier: HashMap<Uuid, i64> = HashMap::new();
    let mut wanted_seats: Vec<Uuid> = Vec::new();
    for request in requests {
        match &request.selection {
            Selection::BestAvailable { tier_id, quantity } => {
                *wanted_by_tier.entry(*tier_id).or_default() += i64::from(*quantity);
            }
            Selection::Seats { seat_ids } => wanted_seats.extend(seat_ids),
        }
    }
    let mut offer = Offer::lock(client, event_id, wanted_by_tier, &wanted_seats).await?;

    let limit = i32::try_from(terms.per_buyer_limit).unwrap_or(i32::MAX);
    let mut decided = Vec::with_capacity(requests.len());
    for request in requests {
        let purchase = request;
        let count = i32::try_from(purchase.selection.place_count()).unwrap_or(i32::MAX);
        let buyer_held = held.get(&purchase.buyer_id).copied().unwrap_or(0);
        let outcome = if purchase.requested_at < terms.open_at {
            Err(RejectionReason::SalesNotOpen)
        } else if terms
            .close_at
            .is_some_and(|close_at| purchase.requested_at >= close_at)
        {
            Err(RejectionReason::SalesClosed)
        } else if buyer_held + count > limit {
            Err(RejectionReason::PurchaseLimitExceeded)
        } else {
            match &purchase.selection {
                Selection::BestAvailable { tier_id, quantity } => {
                    offer.take_best(*tier_id, *quantity)
                }
                Selection::Seats { seat_ids } => offer.take_seats(seat_ids),
            }
        };
        if outcome.is_ok() {
            held.insert(purchase.buyer_id, buyer_held + count);
        }
        decided.push(new_order(request, outcome));
    }
    held.retain(|buyer, places| initially_held.get(buyer) != Some(places));
    if !held.is_empty() {
        orders::set_buyer_places(client, event_id, &held).await?;
    }
    Ok(decided)
}

/// What one batch may hand out: the places it locked, and what the event has at all (to
/// tell "sold out" and "taken" from "no such tier or seat" without asking again).
struct Offer {
    free_by_tier: HashMap<Uuid, VecDeque<LockedPlace>>,
    free_seats: HashMap<Uuid, LockedPlace>,
    tiers: HashSet<Uuid>,
    seats: HashSet<Uuid>,
}

impl Offer {
    async fn lock(
        client: &impl GenericClient,
        event_id: Uuid,
        wanted_by_tier: HashMap<Uuid, i64>,
        wanted_seats: &[Uuid],
    ) -> Result<Self, tokio_postgres::Error> {
        let mut free_by_tier = HashMap::new();
        for (tier_id, wanted) in wanted_by_tier {
            let places = orders::lock_best_available(client, event_id, tier_id, wanted).await?;
            free_by_tier.insert(tier_id, places.into());
        }
        let (free_seats, seats) = if wanted_seats.is_empty() {
            (HashMap::new(), HashSet::new())
        } else {
            let free = orders::lock_seats(client, event_id, wanted_seats)
                .await?
                .into_iter()
                .map(|place| (place.place.place_id, place))
                .collect();
            (
                free,
                orders::known_places(client, event_id, wanted_seats).await?,
            )
        };
        Ok(Self {
            free_by_tier,
            free_seats,
            tiers: inventory::tier_ids(client, event_id).await?,
            seats,
        })
    }

    /// The first `quantity` free places of the tier (neighbours in venue order).
    fn take_best(
        &mut self,
        tier_id: Uuid,
        quantity: u32,
    ) -> Result<Vec<LockedPlace>, RejectionReason> {
        let free = self.free_by_tier.entry(tier_id).or_default();
        let quantity = quantity as usize;
        if !self.tiers.contains(&tier_id) || quantity == 0 {
            Err(RejectionReason::UnknownPlace)
        } else if free.len() < quantity {
            Err(RejectionReason::SoldOut)
        } else {
            Ok(free.drain(..quantity).collect())
        }
    }

    /// Every seat asked for, or none.
    fn take_seats(&mut self, seat_ids: &[Uuid]) -> Result<Vec<LockedPlace>, RejectionReason> {
        let distinct: HashSet<&Uuid> = seat_ids.iter().collect();
        if seat_ids.is_empty()
            || distinct.len() != seat_ids.len()
            || !seat_ids.iter().all(|seat| self.seats.contains(seat))
        {
            Err(RejectionReason::UnknownPlace)
        } else if !seat_ids
            .iter()
            .all(|seat| self.free_seats.contains_key(seat))
        {
            Err(RejectionReason::SeatTaken)
        } else {
            Ok(seat_ids
                .iter()
                .filter_map(|seat| self.free_seats.remove(seat))
                .collect())
        }
    }
}

/// The batch's decisions as one message, in the order the requests arrived.
fn decisions(
    event_id: Uuid,
    requests: &[&PurchaseRequestedV1],
    orders: &[NewOrder],
    hold_expires_at: OffsetDateTime,
) -> PurchasesDecidedV1 {
    let mut decided = PurchasesDecidedV1 {
        event_id,
        reserved: Vec::new(),
        rejected: Vec::new(),
    };
    for (request, order) in requests.iter().zip(orders) {
        let purchase = request;
        match &order.outcome {
            Ok(places) => decided.reserved.push(OrderReservedV1 {
                order_id: order.order_id,
                purchase_id: purchase.purchase_id,
                buyer_id: purchase.buyer_id,
                event_id: purchase.event_id,
                amount_minor: places.iter().map(|place| place.place.price_minor).sum(),
                currency: places
                    .first()
                    .map(|place| place.currency.clone())
                    .unwrap_or_default(),
                places: places.iter().map(|place| place.place.clone()).collect(),
                hold_expires_at,
            }),
            Err(reason) => decided.rejected.push(OrderRejectedV1 {
                order_id: order.order_id,
                purchase_id: purchase.purchase_id,
                buyer_id: purchase.buyer_id,
                event_id: purchase.event_id,
                reason: *reason,
            }),
        }
    }
    decided
}
