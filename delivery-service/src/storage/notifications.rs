//! The delivery log.

use contracts::notifications::{Channel, NotificationState, NotificationView};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

pub struct NewNotification {
    pub notification_id: Uuid,
    pub key: String,
    pub channel: Channel,
    pub account_id: Uuid,
    pub kind: &'static str,
    pub locale: &'static str,
    pub recipient: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// `pending`, or `skipped` with `skip_reason`.
    pub skip_reason: Option<&'static str>,
    pub source_message: serde_json::Value,
}

/// Writes the notifications unless they exist (same key and channel), in one statement
/// whatever their number; returns how many were new.
pub async fn insert_notifications(
    client: &impl GenericClient,
    notifications: &[NewNotification],
) -> Result<u64, tokio_postgres::Error> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let uuids = |value: fn(&NewNotification) -> Uuid| -> Vec<Uuid> {
        notifications.iter().map(value).collect()
    };
    let texts = |value: fn(&NewNotification) -> Option<&str>| -> Vec<Option<&str>> {
        notifications.iter().map(value).collect()
    };
    let sources: Vec<&serde_json::Value> =
        notifications.iter().map(|n| &n.source_message).collect();
    client
        .execute(
            "INSERT INTO notifications (notification_id, notification_key, channel, account_id,
                                        kind, locale, recipient, subject, body_text, body_html,
                                        state, last_error, source_message)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                  $11::text[], $12::text[], $13::jsonb[])
             ON CONFLICT (notification_key, channel) DO NOTHING",
            &[
                &uuids(|n| n.notification_id),
                &texts(|n| Some(&n.key)),
                &texts(|n| Some(n.channel.as_str())),
                &uuids(|n| n.account_id),
                &texts(|n| Some(n.kind)),
                &texts(|n| Some(n.locale)),
                &texts(|n| n.recipient.as_deref()),
                &texts(|n| Some(&n.subject)),
                &texts(|n| Some(&n.body_text)),
                &texts(|n| n.body_html.as_deref()),
                &texts(|n| {
                    Some(if n.skip_reason.is_some() {
                        "skipped"
                    } else {
                        "pending"
                    })
                }),
                &texts(|n| n.skip_reason),
                &sources,
            ],
        )
        .await
}

/// A notification due to be sent, locked by the claiming transaction.
pub struct Due {
    pub notification_id: Uuid,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
    pub source_message: serde_json::Value,
}

/// Locks up to `limit` due notifications, skipping those another sender holds.
pub async fn claim_due(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<Due>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT notification_id, channel, recipient, subject, body_text,
                    coalesce(body_html, ''), attempts, source_message
             FROM notifications
             WHERE state = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1
             FOR UPDATE SKIP LOCKED",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Due {
            notification_id: row.get(0),
            channel: if row.get::<_, &str>(1) == "sms" {
                Channel::Sms
            } else {
                Channel::Email
            },
            recipient: row.get::<_, Option<String>>(2).unwrap_or_default(),
            subject: row.get(3),
            body_text: row.get(4),
            body_html: row.get(5),
            attempts: row.get(6),
            source_message: row.get(7),
        })
        .collect())
}

/// Marks the claimed notifications sent, one statement for them all.
pub async fn mark_sent(
    client: &impl GenericClient,
    notification_ids: &[Uuid],
) -> Result<(), tokio_postgres::Error> {
    if notification_ids.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "UPDATE notifications SET state = 'sent', sent_at = now(), attempts = attempts + 1,
                    last_error = NULL
             WHERE notification_id = ANY($1)",
            &[&notification_ids],
        )
        .await?;
    Ok(())
}

pub async fn schedule_retry(
    client: &impl GenericClient,
    notification_id: Uuid,
    attempts: i32,
    next_attempt_at: OffsetDateTime,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE notifications SET attempts = $2, next_attempt_at = $3, last_error = $4
             WHERE notification_id = $1",
            &[&notification_id, &attempts, &next_attempt_at, &error],
        )
        .await?;
    Ok(())
}

pub async fn mark_failed(
    client: &impl GenericClient,
    notification_id: Uuid,
    attempts: i32,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE notifications SET state = 'failed', attempts = $2, last_error = $3
             WHERE notification_id = $1",
            &[&notification_id, &attempts, &error],
        )
        .await?;
    Ok(())
}

/// A failed notification goes back to pending, due now, with its attempts reset.
pub async fn retry_failed(
    client: &impl GenericClient,
    notification_id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let changed = client
        .execute(
            "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = now()
             WHERE notification_id = $1 AND state = 'failed'",
            &[&notification_id],
        )
        .await?;
    Ok(changed == 1)
}

const VIEW_COLUMNS: &str = "notification_id, account_id, kind, channel, recipient, subject, state,
                            attempts, last_error, created_at, sent_at";

fn view(row: &tokio_postgres::Row) -> NotificationView {
    NotificationView {
        notification_id: row.get(0),
        account_id: row.get(1),
        kind: row.get(2),
        channel: if row.get::<_, &str>(3) == "sms" {
            Channel::Sms
        } else {
            Channel::Email
        },
        recipient: row.get(4),
        subject: row.get(5),
        state: NotificationState::parse(row.get(6)).unwrap_or(NotificationState::Failed),
        attempts: row.get(7),
        last_error: row.get(8),
        created_at: row.get(9),
        sent_at: row.get(10),
    }
}

/// The account's notifications, newest first, after `after` (created_at, id) if given.
pub async fn list_for_account(
    client: &impl GenericClient,
    account_id: Uuid,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<NotificationView>, tokio_postgres::Error> {
    let (after_at, after_id) = after.unzip();
    let rows = client
        .query(
            &format!(
                "SELECT {VIEW_COLUMNS} FROM notifications
                 WHERE account_id = $1
                   AND ($2::timestamptz IS NULL OR (created_at, notification_id) < ($2, $3))
                 ORDER BY created_at DESC, notification_id DESC LIMIT $4"
            ),
            &[&account_id, &after_at, &after_id, &limit],
        )
        .await?;
    Ok(rows.iter().map(view).collect())
}

/// Failed notifications, newest first.
pub async fn failed(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<NotificationView>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT {VIEW_COLUMNS} FROM notifications WHERE state = 'failed'
                 ORDER BY created_at DESC LIMIT $1"
            ),
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(view).collect())
}
