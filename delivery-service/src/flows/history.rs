//! Reading the delivery log: a buyer's own notifications, and for operators the failures
//! and a way to send one again.

use common::http::pagination::{Cursor, Page};
use contracts::notifications::{NotificationPage, NotificationView};
use uuid::Uuid;

use super::{DeliveryError, Deps};
use crate::storage::notifications;

const FAILURES_SHOWN: i64 = 200;

pub async fn list(
    deps: &Deps,
    account_id: Uuid,
    page: Page,
) -> Result<NotificationPage, DeliveryError> {
    let client = deps.database.pool().get().await?;
    let after = page.after.map(|cursor| (cursor.at, cursor.id));
    let rows =
        notifications::list_for_account(&client, account_id, after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |notification| {
        Cursor::new(notification.created_at, notification.notification_id)
    });
    Ok(NotificationPage {
        notifications: rows,
        next_cursor,
    })
}

pub async fn failures(deps: &Deps) -> Result<Vec<NotificationView>, DeliveryError> {
    let client = deps.database.pool().get().await?;
    Ok(notifications::failed(&client, FAILURES_SHOWN).await?)
}

/// Puts a failed notification back to be sent now, with its attempts reset.
pub async fn retry(deps: &Deps, notification_id: Uuid) -> Result<(), DeliveryError> {
    let client = deps.database.pool().get().await?;
    if !notifications::retry_failed(&client, notification_id).await? {
        return Err(DeliveryError::NotFound);
    }
    deps.wake_sender.notify_one();
    Ok(())
}
