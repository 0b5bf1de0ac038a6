//! `order.refunded` -> the order's tickets are revoked (refused at the door from then on),
//! their documents deleted from S3, and `ticket.revoked` written to the outbox, in that order:
//! the database first, so a crash before the deletions is finished by the redelivery, which
//! finds the documents by the order's tickets.

use common::amqp::{ExchangeRole, outbox};
use contracts::{Envelope, orders::OrderRefundedV1, tickets::TicketsRevokedV1};

use super::Deps;
use crate::storage::tickets;

#[tracing::instrument(skip_all, fields(order_id = %message.payload.order_id))]
pub async fn revoke(deps: &Deps, message: &Envelope<OrderRefundedV1>) -> anyhow::Result<()> {
    let refunded = &message.payload;
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    tickets::lock_order(&transaction, refunded.order_id).await?;
    let revoked = tickets::revoke_order(&transaction, refunded.order_id).await?;
    if !revoked.is_empty() {
        let envelope = Envelope::new(
            message.correlation_id,
            TicketsRevokedV1 {
                order_id: refunded.order_id,
                buyer_id: refunded.buyer_id,
                event_id: refunded.event_id,
                ticket_ids: revoked.iter().map(|(ticket_id, _)| *ticket_id).collect(),
            },
        );
        outbox::enqueue(&transaction, ExchangeRole::Events, &envelope).await?;
    }
    transaction.commit().await?;
    deps.outbox.wake();
    // Every revoked ticket's document, not only those revoked now: a redelivery after a crash
    // finishes what the first delivery had not deleted (deleting twice is harmless).
    for document_key in tickets::document_keys_of_order(&client, refunded.order_id).await? {
        deps.store.delete(&document_key).await?;
    }
    tracing::info!(tickets = revoked.len(), "tickets revoked");
    Ok(())
}
