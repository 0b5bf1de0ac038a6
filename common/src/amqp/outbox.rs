//! The transactional outbox: a flow writes its messages into its own database in the same
//! transaction as the state change, and a relay publishes them with confirms, marking each row
//! published only after the broker's ack. A crash between commit and publish therefore loses
//! nothing; it can publish a message twice, which consumers absorb by deduplicating on the
//! message id (`inbox`).
//!
//! Several relays (one per instance) can run at once: each claims rows with
//! `FOR UPDATE SKIP LOCKED`. An idle relay deletes, now and then, the rows published longer
//! ago than the retention: the table holds what is pending and what operators may still want
//! to look into, not every message ever sent.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use contracts::{Envelope, Message};
use deadpool_postgres::{GenericClient, Pool};
use futures::future::join_all;
use time::OffsetDateTime;
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::postgres::CachedStatements;

use super::{
    broker::{Broker, OutgoingMessage},
    topology::ExchangeRole,
};

/// The outbox and inbox tables every service that talks to the broker has. Services include
/// this from a refinery migration so that the schema is written once; `BODY_AS_TEXT_SQL`
/// follows it.
pub const SCHEMA_SQL: &str = r"
-- Messages waiting to be published. Rows are written in the same transaction as the change
-- they describe; the relay sets published_at after the broker confirmed the message.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    message_id   uuid NOT NULL UNIQUE,
    exchange     text NOT NULL CHECK (exchange IN ('events', 'commands')),
    routing_key  text NOT NULL,
    correlation_id uuid NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- The relay only ever looks for unpublished rows in order.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Messages a consumer has already applied; the primary key makes a redelivered message a
-- no-op when it is recorded in the same transaction as its effects.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    message_id   uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
";

/// The outbox keeps a message's body as the bytes it will publish. As `jsonb`, Postgres parsed
/// every body on insert, compressed it with pglz and printed it back to text for the relay:
/// at a drop, where one `purchases.decided` message carries a batch of a hundred orders or
/// more (40-120 kB), that was a tenth of Postgres' CPU for a column nothing queries. lz4
/// keeps the WAL small at a fraction of pglz's cost; `body::jsonb` still reads it.
pub const BODY_AS_TEXT_SQL: &str = r"
ALTER TABLE outbox ALTER COLUMN body TYPE text USING body::text;
ALTER TABLE outbox ALTER COLUMN body SET COMPRESSION lz4;
";

const BATCH_SIZE: i64 = 256;
const IDLE_POLL_INTERVAL: Duration = Duration::from_millis(200);
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// How often an idle relay looks for rows past their retention.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Rows deleted per statement, so that pruning a backlog never holds a long transaction.
const PRUNE_CHUNK: i64 = 1_000;

/// Writes `envelope` to the outbox inside the caller's transaction.
pub async fn enqueue<P: Message>(
    client: &impl GenericClient,
    exchange: ExchangeRole,
    envelope: &Envelope<P>,
) -> anyhow::Result<()> {
    let body = serde_json::to_string(envelope).context("serialising an outbox message")?;
    client
        .execute_cached(
            "INSERT INTO outbox (message_id, exchange, routing_key, correlation_id, body)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &envelope.id,
                &exchange.as_str(),
                &envelope.message_type,
                &envelope.correlation_id,
                &body,
            ],
        )
        .await
        .context("inserting into the outbox")?;
    Ok(())
}

/// Records that `consumer` applied `message_id`, inside the caller's transaction. Returns
/// `false` when it had already been applied: the caller then rolls back and just acks.
pub async fn record_processed(
    client: &impl GenericClient,
    consumer: &str,
    message_id: Uuid,
) -> anyhow::Result<bool> {
    let inserted = client
        .execute_cached(
            "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&consumer, &message_id],
        )
        .await
        .context("recording a processed message")?;
    Ok(inserted == 1)
}

/// Wakes the relay right after a commit that wrote to the outbox, instead of waiting for its
/// next poll. Cheap to clone.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Starts the relay, which also deletes rows published more than `retention` ago; it stops
/// after `shutdown`, once the batch in hand is settled.
pub fn spawn_relay(
    pool: Pool,
    broker: Broker,
    signal: OutboxSignal,
    retention: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_pruned: Option<Instant> = None;
        loop {
            let wait = match relay_batch(&pool, &broker).await {
                Ok(0) => {
                    if last_pruned.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL) {
                        last_pruned = Some(Instant::now());
                        prune_quietly(&pool, retention).await;
                    }
                    IDLE_POLL_INTERVAL
                }
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "outbox relay failed; retrying"
                    );
                    ERROR_BACKOFF
                }
            };
            if wait.is_zero() && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = signal.0.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    })
}

async fn prune_quietly(pool: &Pool, retention: Duration) {
    match prune_published(pool, OffsetDateTime::now_utc() - retention).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "outbox rows past their retention deleted"),
        Err(error) => tracing::warn!(error = format!("{error:#}"), "outbox pruning failed"),
    }
}

/// Deletes the rows published before `cutoff`; returns how many. Rows are taken oldest first,
/// a chunk at a time, and it stops at the first chunk with a row too recent: rows are
/// published in about the order they were written, so what follows is more recent still.
pub async fn prune_published(pool: &Pool, cutoff: OffsetDateTime) -> anyhow::Result<u64> {
    let client = pool.get().await.context("outbox pruning connection")?;
    let mut pruned = 0;
    loop {
        let deleted = client
            .execute_cached(
                "DELETE FROM outbox
                 WHERE seq IN (SELECT seq FROM outbox WHERE published_at IS NOT NULL
                               ORDER BY seq LIMIT $2)
                   AND published_at < $1",
                &[&cutoff, &PRUNE_CHUNK],
            )
            .await
            .context("deleting published outbox rows")?;
        pruned += deleted;
        if deleted < PRUNE_CHUNK.unsigned_abs() {
            return Ok(pruned);
        }
    }
}

/// Publishes one batch of unpublished rows; returns how many were published.
pub async fn relay_batch(pool: &Pool, broker: &Broker) -> anyhow::Result<usize> {
    let mut client = pool.get().await.context("outbox relay connection")?;
    let transaction = client.transaction().await?;
    let rows = transaction
        .query_cached(
            "SELECT seq, message_id, exchange, routing_key, correlation_id, body
             FROM outbox WHERE published_at IS NULL
             ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&BATCH_SIZE],
        )
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let messages = rows
        .iter()
        .map(|row| {
            let exchange: &str = row.get(2);
            Ok((
                row.get::<_, i64>(0),
                row.get::<_, Uuid>(1),
                ExchangeRole::parse(exchange)
                    .with_context(|| format!("unknown outbox exchange {exchange}"))?,
                row.get::<_, &str>(3),
                row.get::<_, Uuid>(4),
                row.get::<_, &str>(5),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let confirms = join_all(messages.iter().map(
        |(_, message_id, exchange, routing_key, correlation_id, body)| {
            broker.publish(OutgoingMessage {
                exchange: *exchange,
                routing_key,
                message_id: *message_id,
                correlation_id: *correlation_id,
                body: body.as_bytes(),
            })
        },
    ))
    .await;
    let published: Vec<i64> = messages
        .iter()
        .zip(&confirms)
        .filter(|(_, confirm)| confirm.is_ok())
        .map(|((seq, ..), _)| *seq)
        .collect();
    transaction
        .execute_cached(
            "UPDATE outbox SET published_at = now() WHERE seq = ANY($1)",
            &[&published],
        )
        .await?;
    transaction.commit().await?;
    if let Some(Err(error)) = confirms.into_iter().find(Result::is_err) {
        return Err(error).context("publishing from the outbox");
    }
    Ok(published.len())
}
