//! Ending holds whose time ran out: the places go back on sale in Postgres and to the Redis
//! counters, and `order.expired` is written to the outbox, in one transaction. Several sweepers (one per instance)
//! share the work through `SKIP LOCKED`.

use std::collections::BTreeSet;

use common::{
    amqp::{ExchangeRole, outbox},
    availability,
};
use contracts::{
    Envelope,
    orders::OrderState,
    purchases::{OrderExpiredV1, OrderReleasedV1},
};
use deadpool_postgres::GenericClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Deps;
use crate::storage::{
    inventory,
    orders::{self, EndedHold},
};

const SWEEP_BATCH: i64 = 500;

/// Expires due holds every `sweep_interval` until `shutdown`.
pub fn spawn_sweeper(deps: Deps, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let swept = expire_due(&deps).await;
            let busy = match swept {
                Ok(count) => count as i64 == SWEEP_BATCH,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "hold sweep failed");
                    false
                }
            };
            if busy && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(deps.reservations.sweep_interval) => {}
            }
        }
        tracing::info!("hold sweeper stopped");
    })
}

/// Expires one batch of due holds; returns how many.
pub async fn expire_due(deps: &Deps) -> anyhow::Result<usize> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let due = orders::lock_expired_holds(&transaction, SWEEP_BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    lock_counters_of(&transaction, due.iter().map(|(_, event_id)| *event_id)).await?;
    let order_ids: Vec<Uuid> = due.iter().map(|(order_id, _)| *order_id).collect();
    let ended = orders::release_orders(
        &transaction,
        &order_ids,
        &[OrderState::Reserved],
        OrderState::Expired,
    )
    .await?;
    for hold in &ended {
        let envelope = Envelope::new(hold.purchase_id, OrderExpiredV1(released(hold)));
        outbox::enqueue(&transaction, ExchangeRole::Events, &envelope).await?;
    }
    give_back(deps, &ended).await?;
    transaction.commit().await?;
    deps.outbox.wake();
    tracing::info!(count = ended.len(), "holds expired");
    Ok(ended.len())
}

pub(super) fn released(hold: &EndedHold) -> OrderReleasedV1 {
    OrderReleasedV1 {
        order_id: hold.order_id,
        purchase_id: hold.purchase_id,
        buyer_id: hold.buyer_id,
        event_id: hold.event_id,
    }
}

/// Shared counter locks of every event touched, in one order (no deadlock between sweepers).
async fn lock_counters_of(
    client: &impl GenericClient,
    event_ids: impl Iterator<Item = Uuid>,
) -> Result<(), tokio_postgres::Error> {
    for event_id in event_ids.collect::<BTreeSet<_>>() {
        inventory::lock_counters(client, event_id, false).await?;
    }
    Ok(())
}

/// Back to the counters, before the commit (under the counter lock); should the commit fail,
/// the counters are too high, which Postgres absorbs and the reconciler corrects.
pub(super) async fn give_back(deps: &Deps, ended: &[EndedHold]) -> anyhow::Result<()> {
    for hold in ended {
        availability::release(
            &deps.redis,
            hold.event_id,
            hold.buyer_id,
            &hold.places_by_tier,
            &hold.place_ids,
        )
        .await?;
    }
    Ok(())
}
