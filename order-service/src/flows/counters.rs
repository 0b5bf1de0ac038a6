//! Keeping the Redis counters honest: rebuilt from Postgres when missing (first publish, a
//! Redis flush) and rewritten periodically, so that any drift is bounded in time.

use anyhow::Context;
use common::availability::{self, Settlement};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Deps, reservations};
use crate::storage::{inventory, orders};

/// Rewrites one event's counters from Postgres. Holding the event's counter lock
/// exclusively, it sees no reservation half-way (they settle Redis before they commit).
pub async fn rebuild(deps: &Deps, event_id: Uuid) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    inventory::lock_counters(&transaction, event_id, true).await?;
    let terms = inventory::sales_terms(&transaction, event_id)
        .await?
        .with_context(|| format!("event {event_id} has no inventory"))?;
    settle_abandoned(deps, &transaction, event_id).await?;
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

/// Ends the admissions that reached no order within `pending_timeout`: their publish was
/// never confirmed and never retried. Should the message turn up after all, it is reserved
/// like any other (Postgres decides) and the next reconciliation corrects the counters.
async fn settle_abandoned(
    deps: &Deps,
    client: &impl GenericClient,
    event_id: Uuid,
) -> anyhow::Result<()> {
    let cutoff = OffsetDateTime::now_utc() - deps.reservations.pending_timeout;
    let stale = availability::pending_before(&deps.redis, event_id, cutoff).await?;
    if stale.is_empty() {
        return Ok(());
    }
    let decided = orders::decided_purchases(client, &stale).await?;
    let settlements: Vec<(Uuid, Settlement)> = stale
        .iter()
        .map(|purchase_id| {
            let settlement = match decided.get(purchase_id) {
                Some(state) => reservations::settlement_of_state(state),
                None => Settlement::GivenBack,
            };
            (*purchase_id, settlement)
        })
        .collect();
    tracing::warn!(%event_id, abandoned = stale.len(), "settling admissions that reached no order");
    availability::settle(&deps.redis, event_id, &settlements).await?;
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
