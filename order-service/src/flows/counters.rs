//! Keeping the Redis counters honest: rebuilt from Postgres when missing (first publish, a
//! Redis flush) and rewritten periodically, so that any drift is bounded in time.

use anyhow::Context;
use common::availability;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Deps;
use crate::storage::inventory;

/// Rewrites one event's counters from Postgres. Holding the event's counter lock
/// exclusively, it sees no reservation half-way (they settle Redis before they commit).
pub async fn rebuild(deps: &Deps, event_id: Uuid) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    inventory::lock_counters(&transaction, event_id, true).await?;
    let terms = inventory::sales_terms(&transaction, event_id)
        .await?
        .with_context(|| format!("event {event_id} has no inventory"))?;
    let available = inventory::available_by_tier(&transaction, event_id).await?;
    let held = inventory::places_by_buyer(&transaction, event_id).await?;
    let taken_seats = inventory::taken_seats(&transaction, event_id).await?;
    if !availability::is_built(&deps.redis, event_id).await? {
        let seats = inventory::seat_tiers(&transaction, event_id).await?;
        availability::write_seat_tiers(&deps.redis, event_id, &seats).await?;
    }
    let truth = availability::Truth {
        terms,
        available: &available,
        held: &held,
        taken_seats: &taken_seats,
    };
    availability::reconcile(&deps.redis, event_id, &truth).await?;
    transaction.commit().await?;
    Ok(())
}

/// Rebuilds missing counters every `counter_check_interval` and all of them every
/// `reconcile_interval`, starting with all of them at once.
pub fn spawn_keeper(deps: Deps, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_full: Option<Instant> = None;
        loop {
            let full =
                last_full.is_none_or(|at| at.elapsed() >= deps.reservations.reconcile_interval);
            match keep(&deps, full).await {
                Ok(()) if full => last_full = Some(Instant::now()),
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "counter reconciliation failed"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(deps.reservations.counter_check_interval) => {}
            }
        }
        tracing::info!("counter keeper stopped");
    })
}

async fn keep(deps: &Deps, full: bool) -> anyhow::Result<()> {
    let event_ids = {
        let client = deps.database.pool().get().await?;
        inventory::live_event_ids(&client).await?
    };
    for event_id in event_ids {
        if full || !availability::is_built(&deps.redis, event_id).await? {
            let started = Instant::now();
            rebuild(deps, event_id).await?;
            tracing::debug!(%event_id, elapsed = ?started.elapsed(), "counters rebuilt");
        }
    }
    Ok(())
}
