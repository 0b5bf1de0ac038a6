//! Keeping the Redis counters honest: rebuilt from Postgres when missing (first publish, a
//! Redis flush) and rewritten periodically, so that any drift is bounded in time.

use anyhow::Context;
use common::availability::{self, Reconciled, Settlement, TakenSeats};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Deps, reservations};
use crate::storage::{inventory, orders};

/// Makes one event's counters say what Postgres says (written only where they differ; the
/// taken seats read only when Redis holds another number of them). Holding the event's
/// counter lock exclusively, it sees no reservation half-way (they settle Redis before they
/// commit).
pub async fn rebuild(deps: &Deps, event_id: Uuid) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    inventory::lock_counters(&transaction, event_id, true).await?;
    let terms = inventory::sales_terms(&transaction, event_id)
        .await?
        .with_context(|| format!("event {event_id} has no inventory"))?;
    settle_abandoned(deps, &transaction, event_id).await?;
    let available = inventory::availability(&transaction, event_id).await?;
    let held = inventory::places_by_buyer(&transaction, event_id).await?;
    let rewritten_seats =
        if availability::taken_seat_count(&deps.redis, event_id).await? == available.taken_seats {
            None
        } else {
            Some(inventory::taken_seats(&transaction, event_id).await?)
        };
    if !availability::is_built(&deps.redis, event_id).await? {
        let seats = inventory::seat_tiers(&transaction, event_id).await?;
        availability::write_seat_tiers(&deps.redis, event_id, &seats).await?;
    }
    let truth = availability::Truth {
        terms,
        available: &available.by_tier,
        held: &held,
        taken_seats: match &rewritten_seats {
            Some(seats) => TakenSeats::Rewritten(seats),
            None => TakenSeats::Kept(available.taken_seats),
        },
    };
    if availability::reconcile(&deps.redis, event_id, &truth).await? == Reconciled::Rewritten {
        tracing::info!(%event_id, "counters written from Postgres");
    }
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

/// Rebuilds missing counters every `counter_check_interval`, and rewrites every event's once
/// per `reconcile_interval`, starting with all of them at once.
///
/// After the first pass the rewrites roll: the live events are spread over the interval's
/// checks, each rewritten once per interval, instead of all of them back to back. A rewrite reads the event's
/// places in Postgres and writes its counters to Redis; dozens of large events at once made a
/// burst of a second or two that took the CPU from admissions whenever it met a drop.
pub fn spawn_keeper(deps: Deps, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let checks_per_interval = checks_per_interval(&deps);
        let mut turn = Turn::All;
        loop {
            match keep(&deps, &mut turn, checks_per_interval).await {
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

fn checks_per_interval(deps: &Deps) -> usize {
    let config = &deps.reservations;
    let per_interval =
        config.reconcile_interval.as_millis() / config.counter_check_interval.as_millis().max(1);
    usize::try_from(per_interval).unwrap_or(usize::MAX).max(1)
}

/// Whose counters the next check rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Every event's (the first pass).
    All,
    /// The events whose slot is this check of the interval.
    Check(usize),
}

/// The events whose turn it is, and the turn after. The live events, in id order, are spread
/// evenly over the `checks_per_interval` checks of an interval (event `i` of `n` at check
/// `i * checks / n`), so that each is rewritten once per interval: a few events leave most
/// checks with nothing to do, many share each check.
fn in_turn(event_ids: &[Uuid], turn: Turn, checks_per_interval: usize) -> (Vec<Uuid>, Turn) {
    let checks = checks_per_interval.max(1);
    match turn {
        Turn::All => (event_ids.to_vec(), Turn::Check(0)),
        Turn::Check(check) => {
            let due = event_ids
                .iter()
                .enumerate()
                .filter(|(index, _)| index * checks / event_ids.len() == check)
                .map(|(_, event_id)| *event_id)
                .collect();
            (due, Turn::Check((check + 1) % checks))
        }
    }
}

async fn keep(deps: &Deps, turn: &mut Turn, checks_per_interval: usize) -> anyhow::Result<()> {
    let event_ids = {
        let client = deps.database.pool().get().await?;
        inventory::live_event_ids(&client).await?
    };
    let (due, next) = in_turn(&event_ids, *turn, checks_per_interval);
    for event_id in event_ids {
        if due.contains(&event_id) || !availability::is_built(&deps.redis, event_id).await? {
            let started = Instant::now();
            rebuild(deps, event_id).await?;
            tracing::debug!(%event_id, elapsed = ?started.elapsed(), "counters rebuilt");
        }
    }
    *turn = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event's rewrites over `intervals` intervals of `checks` checks, after the first
    /// pass, and the most any one check did.
    fn rewrites(events: &[Uuid], checks: usize, intervals: usize) -> (Vec<Uuid>, usize) {
        let (first, mut turn) = in_turn(events, Turn::All, checks);
        assert_eq!(first, events, "all at once to begin with");
        let (mut rewritten, mut most) = (Vec::new(), 0);
        for _ in 0..checks * intervals {
            let (due, next) = in_turn(events, turn, checks);
            most = most.max(due.len());
            rewritten.extend(due);
            turn = next;
        }
        rewritten.sort_unstable();
        (rewritten, most)
    }

    fn events(count: usize) -> Vec<Uuid> {
        let mut events: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
        events.sort_unstable();
        events
    }

    #[test]
    fn fewer_events_than_checks_are_each_rewritten_once_per_interval() {
        for count in [1, 2, 5, 25, 30] {
            let events = events(count);
            let (rewritten, most) = rewrites(&events, 30, 2);
            let twice: Vec<Uuid> = events.iter().flat_map(|event| [*event, *event]).collect();
            assert_eq!(rewritten, twice, "{count} events: each once per interval");
            assert_eq!(most, 1, "{count} events: one at a time");
        }
    }

    #[test]
    fn more_events_than_checks_share_each_check() {
        let events = events(100);
        let (rewritten, most) = rewrites(&events, 30, 1);
        assert_eq!(rewritten, events, "every event once within one interval");
        assert!(most <= 4, "a share of 100 events per check, not {most}");
    }

    #[test]
    fn no_live_event_is_no_work() {
        assert_eq!(in_turn(&[], Turn::All, 30), (Vec::new(), Turn::Check(0)));
        assert_eq!(
            in_turn(&[], Turn::Check(3), 30),
            (Vec::new(), Turn::Check(4))
        );
    }
}
