//! Building the inventory from `event.published` and applying `event.repriced`.

use anyhow::Context;
use common::amqp::outbox::record_processed;
use contracts::{
    Envelope,
    events::{EventInventory, EventPublishedV1, EventRepricedV1},
};
use uuid::Uuid;

use super::{Deps, OrderError, counters};

const CONSUMER: &str = "order.inventory";

/// Builds the event's places in one transaction (a redelivery changes nothing), then its
/// Redis counters.
pub async fn apply_published(
    deps: &Deps,
    message: &Envelope<EventPublishedV1>,
) -> anyhow::Result<()> {
    let event = &message.payload;
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    if record_processed(&transaction, CONSUMER, message.id).await? {
        let built = crate::storage::inventory::insert_event(&transaction, event)
            .await
            .context("inserting the inventory")?;
        tracing::info!(event_id = %event.event_id, built, "inventory of a published event");
    }
    transaction.commit().await?;
    // Also after a redelivery: the first delivery may have stopped between commit and here.
    if let Err(error) = crate::storage::inventory::analyze(&client).await {
        tracing::warn!(%error, "cannot refresh the inventory's statistics");
    }
    counters::rebuild(deps, event.event_id).await
}

pub async fn apply_repriced(
    deps: &Deps,
    message: &Envelope<EventRepricedV1>,
) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    // A reprice overtaking its publish (two instances, or a redelivery) waits for it.
    anyhow::ensure!(
        crate::storage::inventory::sales_terms(&transaction, message.payload.event_id)
            .await?
            .is_some(),
        "event {} is not built yet",
        message.payload.event_id
    );
    if record_processed(&transaction, CONSUMER, message.id).await? {
        crate::storage::inventory::reprice(
            &transaction,
            message.payload.event_id,
            &message.payload.prices,
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// What Postgres holds for an event: counts per tier and each seat's state.
pub async fn inventory(deps: &Deps, event_id: Uuid) -> Result<EventInventory, OrderError> {
    let client = deps.database.pool().get().await?;
    crate::storage::inventory::inventory(&client, event_id)
        .await?
        .ok_or(OrderError::UnknownEvent)
}
