//! Turning purchase requests into orders: one transaction per batch of requests of one event,
//! places locked with `SKIP LOCKED`, each request decided `reserved` or `rejected`, the order
//! events written to the outbox, and the Redis counters settled, all before the commit that
//! makes it true. A redelivered request finds its order and changes nothing.

use std::collections::HashSet;

use common::{
    amqp::{ExchangeRole, outbox},
    availability::{self, SalesTerms, Settlement},
};
use contracts::{
    Envelope,
    purchases::{
        OrderRejectedV1, OrderReservedV1, PurchaseRequestedV1, RejectionReason, Selection,
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

/// What became of one request.
enum Decision {
    Reserved(Vec<LockedPlace>),
    Rejected(RejectionReason),
}

/// Reserves `requests`, all of `event_id`, in one transaction.
pub async fn reserve_batch(
    deps: &Deps,
    event_id: Uuid,
    requests: &[Envelope<PurchaseRequestedV1>],
) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    inventory::lock_counters(&transaction, event_id, false).await?;
    let terms = inventory::sales_terms(&transaction, event_id).await?;
    let purchase_ids: Vec<Uuid> = requests
        .iter()
        .map(|request| request.payload.purchase_id)
        .collect();
    let already_decided = orders::decided_purchases(&transaction, &purchase_ids).await?;

    let mut settlements: Vec<(Uuid, Settlement)> = already_decided
        .iter()
        .map(|(purchase_id, state)| {
            let settlement = if state == "rejected" {
                Settlement::GivenBack
            } else {
                Settlement::Used
            };
            (*purchase_id, settlement)
        })
        .collect();
    let mut seen: HashSet<Uuid> = already_decided.keys().copied().collect();
    let mut fresh: Vec<&Envelope<PurchaseRequestedV1>> = requests
        .iter()
        .filter(|request| seen.insert(request.payload.purchase_id))
        .collect();
    // One buyer's row in buyer_places is locked in buyer order by every batch: no deadlock.
    fresh.sort_by_key(|request| request.payload.buyer_id);

    for request in fresh {
        let decision = match terms {
            Some(terms) => decide(&transaction, terms, &request.payload).await?,
            None => Decision::Rejected(RejectionReason::UnknownPlace),
        };
        let settlement = record(deps, &transaction, request, decision).await?;
        settlements.push((request.payload.purchase_id, settlement));
    }

    availability::settle(&deps.redis, event_id, &settlements).await?;
    transaction.commit().await?;
    deps.outbox.wake();
    Ok(())
}

async fn decide(
    client: &impl GenericClient,
    terms: SalesTerms,
    request: &PurchaseRequestedV1,
) -> Result<Decision, tokio_postgres::Error> {
    if request.requested_at < terms.open_at {
        return Ok(Decision::Rejected(RejectionReason::SalesNotOpen));
    }
    if terms
        .close_at
        .is_some_and(|close_at| request.requested_at >= close_at)
    {
        return Ok(Decision::Rejected(RejectionReason::SalesClosed));
    }
    let event_id = request.event_id;
    let places = match &request.selection {
        Selection::BestAvailable { tier_id, quantity } => {
            let places = orders::lock_best_available(client, event_id, *tier_id, *quantity).await?;
            if places.len() < *quantity as usize || *quantity == 0 {
                let reason = if orders::tier_exists(client, event_id, *tier_id).await? {
                    RejectionReason::SoldOut
                } else {
                    RejectionReason::UnknownPlace
                };
                return Ok(Decision::Rejected(reason));
            }
            places
        }
        Selection::Seats { seat_ids } => {
            let distinct: Vec<Uuid> = seat_ids
                .iter()
                .copied()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let places = orders::lock_seats(client, event_id, &distinct).await?;
            if places.len() < seat_ids.len() || distinct.is_empty() {
                let known = orders::count_places(client, event_id, &distinct).await?;
                let reason = if known == seat_ids.len() as i64 {
                    RejectionReason::SeatTaken
                } else {
                    RejectionReason::UnknownPlace
                };
                return Ok(Decision::Rejected(reason));
            }
            places
        }
    };
    let count = i32::try_from(places.len()).unwrap_or(i32::MAX);
    let limit = i32::try_from(terms.per_buyer_limit).unwrap_or(i32::MAX);
    if !orders::add_buyer_places(client, event_id, request.buyer_id, count, limit).await? {
        return Ok(Decision::Rejected(RejectionReason::PurchaseLimitExceeded));
    }
    Ok(Decision::Reserved(places))
}

/// Writes the order and its event; returns what the counters should do with the places
/// admission took.
async fn record(
    deps: &Deps,
    client: &impl GenericClient,
    request: &Envelope<PurchaseRequestedV1>,
    decision: Decision,
) -> anyhow::Result<Settlement> {
    let purchase = &request.payload;
    let order = NewOrder {
        order_id: Uuid::now_v7(),
        purchase_id: purchase.purchase_id,
        event_id: purchase.event_id,
        buyer_id: purchase.buyer_id,
        requested_at: purchase.requested_at,
        quantity: i32::try_from(purchase.selection.place_count()).unwrap_or(i32::MAX),
    };
    match decision {
        Decision::Reserved(places) => {
            let hold_expires_at = OffsetDateTime::now_utc() + deps.reservations.hold_duration;
            orders::insert_reserved(client, &order, &places, hold_expires_at).await?;
            let event = OrderReservedV1 {
                order_id: order.order_id,
                purchase_id: order.purchase_id,
                buyer_id: order.buyer_id,
                event_id: order.event_id,
                amount_minor: places.iter().map(|place| place.place.price_minor).sum(),
                currency: places
                    .first()
                    .map(|place| place.currency.clone())
                    .unwrap_or_default(),
                places: places.into_iter().map(|place| place.place).collect(),
                hold_expires_at,
            };
            let envelope = Envelope::new(request.correlation_id, event);
            outbox::enqueue(client, ExchangeRole::Events, &envelope).await?;
            Ok(Settlement::Used)
        }
        Decision::Rejected(reason) => {
            orders::insert_rejected(client, &order, reason).await?;
            let event = OrderRejectedV1 {
                order_id: order.order_id,
                purchase_id: order.purchase_id,
                buyer_id: order.buyer_id,
                event_id: order.event_id,
                reason,
            };
            let envelope = Envelope::new(request.correlation_id, event);
            outbox::enqueue(client, ExchangeRole::Events, &envelope).await?;
            Ok(Settlement::GivenBack)
        }
    }
}
