//! The buyer's cabinet: their orders with places, amounts and history; and the one step
//! ticket-service reports back: a paid order's tickets are issued.

use common::http::pagination::{Cursor, Page};
use contracts::orders::{OrderPage, OrderState, OrderTransition, OrderView};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::{Deps, OrderError};
use crate::storage::orders::{self, OrderRecord};

/// `ticket.issued`: a paid order becomes `ticketed` (once; any other state is left alone,
/// e.g. an order refunded while its tickets were being made).
pub async fn mark_ticketed(deps: &Deps, order_id: Uuid) -> anyhow::Result<()> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    if let Some(order) = orders::lock_order(&transaction, order_id, None).await?
        && order.state == OrderState::Paid
    {
        orders::set_order_state(&transaction, order_id, OrderState::Ticketed).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// One order of `buyer_id`; anyone else's is `NotFound`.
pub async fn order(deps: &Deps, order_id: Uuid, buyer_id: Uuid) -> Result<OrderView, OrderError> {
    let client = deps.database.pool().get().await?;
    let record = orders::find_order(&client, order_id, buyer_id)
        .await?
        .ok_or(OrderError::NotFound)?;
    Ok(views(&client, vec![record]).await?.remove(0))
}

/// The buyer's orders, newest first.
pub async fn list(deps: &Deps, buyer_id: Uuid, page: Page) -> Result<OrderPage, OrderError> {
    let client = deps.database.pool().get().await?;
    let after = page.after.map(|cursor| (cursor.at, cursor.id));
    let records = orders::list_orders(&client, buyer_id, after, page.fetch_limit()).await?;
    let (records, next_cursor) = page.finish(records, |order| {
        Cursor::new(order.created_at, order.order_id)
    });
    Ok(OrderPage {
        orders: views(&client, records).await?,
        next_cursor,
    })
}

async fn views(
    client: &impl GenericClient,
    records: Vec<OrderRecord>,
) -> Result<Vec<OrderView>, OrderError> {
    let ids: Vec<Uuid> = records.iter().map(|order| order.order_id).collect();
    let mut claims = orders::claims_of(client, &ids).await?;
    let mut transitions = orders::transitions_of(client, &ids).await?;
    Ok(records
        .into_iter()
        .map(|order| {
            let first = if order.state == OrderState::Rejected {
                OrderState::Rejected
            } else {
                OrderState::Reserved
            };
            let history = std::iter::once((first, order.created_at))
                .chain(transitions.remove(&order.order_id).unwrap_or_default())
                .map(|(state, at)| OrderTransition { state, at })
                .collect();
            OrderView {
                order_id: order.order_id,
                purchase_id: order.purchase_id,
                event_id: order.event_id,
                state: order.state,
                places: claims.remove(&order.order_id).unwrap_or_default(),
                amount_minor: order.amount_minor,
                currency: order.currency,
                hold_expires_at: order.hold_expires_at,
                reason: order.reason,
                created_at: order.created_at,
                history,
            }
        })
        .collect())
}
