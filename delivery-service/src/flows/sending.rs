//! Sending what is due. A sender claims due notifications with `FOR UPDATE SKIP LOCKED` (so
//! several instances share the work and never send one notification at the same time),
//! sends them concurrently, and records each outcome before the claim is released: sent;
//! a transient failure retried later with exponential backoff and jitter; a permanent one,
//! or the last attempt, marked failed and its message dead-lettered for operators.
//!
//! A crash between a send and its commit sends that notification again on restart: SMTP
//! offers no way to make a send and a database write one act, so this is the one place
//! delivery is at-least-once.

use common::amqp::{ExchangeRole, OutgoingMessage};
use contracts::notifications::Channel;
use futures::future::join_all;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Deps;
use crate::{
    channels::{SendError, email::Email},
    domain::retry,
    storage::notifications::{self, Due},
};

/// Notifications claimed and sent at once per sender round.
const BATCH: i64 = 100;

/// Sends due notifications until `shutdown`.
pub fn spawn_sender(deps: Deps, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let busy = match send_due(&deps).await {
                Ok(sent) => sent as i64 == BATCH,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "sending failed");
                    false
                }
            };
            if busy && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = deps.wake_sender.notified() => {}
                () = tokio::time::sleep(deps.delivery.send_interval) => {}
            }
        }
        tracing::info!("sender stopped");
    })
}

/// Sends one batch of due notifications; returns how many were tried.
pub async fn send_due(deps: &Deps) -> anyhow::Result<usize> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let due = notifications::claim_due(&transaction, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let outcomes = join_all(due.iter().map(|notification| send(deps, notification))).await;
    let mut sent = Vec::with_capacity(due.len());
    for (notification, outcome) in due.iter().zip(outcomes) {
        let attempts = notification.attempts + 1;
        let id = notification.notification_id;
        match outcome {
            Ok(()) => sent.push(id),
            Err(SendError::Transient(error))
                if u32::try_from(attempts).unwrap_or(u32::MAX) < deps.delivery.max_attempts =>
            {
                let delay = retry::delay(
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    deps.delivery.retry_base_delay,
                    deps.delivery.retry_max_delay,
                    fastrand::f64(),
                );
                tracing::info!(notification_id = %id, attempts, ?delay, %error, "send failed; will retry");
                let next = OffsetDateTime::now_utc() + delay;
                notifications::schedule_retry(&transaction, id, attempts, next, &error).await?;
            }
            Err(error) => {
                tracing::warn!(notification_id = %id, attempts, %error, "notification failed");
                notifications::mark_failed(&transaction, id, attempts, &error.to_string()).await?;
                dead_letter(deps, id, &notification.source_message).await;
            }
        }
    }
    notifications::mark_sent(&transaction, &sent).await?;
    transaction.commit().await?;
    Ok(due.len())
}

async fn send(deps: &Deps, notification: &Due) -> Result<(), SendError> {
    let sending = async {
        match notification.channel {
            Channel::Email => {
                let email = Email {
                    to: &notification.recipient,
                    subject: &notification.subject,
                    text: &notification.body_text,
                    html: &notification.body_html,
                };
                deps.email.send(&deps.delivery.email_from, &email).await
            }
            Channel::Sms => {
                deps.sms
                    .send(
                        &deps.delivery.sms_from,
                        &notification.recipient,
                        &notification.body_text,
                    )
                    .await
            }
        }
    };
    tokio::time::timeout(deps.delivery.send_timeout, sending)
        .await
        .unwrap_or_else(|_| Err(SendError::Transient("timed out".to_owned())))
}

/// Puts the message the notification came from on the dead-letter queue, for operators; the
/// failure itself is in the delivery log whatever happens here.
async fn dead_letter(deps: &Deps, notification_id: Uuid, source: &serde_json::Value) {
    let body = source.to_string();
    let routing_key = source["type"].as_str().unwrap_or("notification.failed");
    let published = deps
        .broker
        .publish(OutgoingMessage {
            exchange: ExchangeRole::DeadLetter,
            routing_key,
            message_id: notification_id,
            correlation_id: notification_id,
            body: body.as_bytes(),
        })
        .await;
    if let Err(error) = published {
        tracing::warn!(%notification_id, %error, "failed notification not dead-lettered");
    }
}
