//! The connection to RabbitMQ: made at start (or later, if the broker is down then), watched,
//! and remade after it drops, with the topology declared again at every connect. Publishing
//! always waits for the broker's confirm; a few confirm channels are shared by all callers so
//! that many publishes are in flight at once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use contracts::{Envelope, Message};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::topology::{ExchangeRole, Topology};
use crate::config::AmqpConfig;

/// Confirm channels per connection; RabbitMQ confirms each channel in order, so a few of them
/// keep one slow confirm from holding back every other publish.
const PUBLISHER_CHANNEL_COUNT: usize = 4;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(10);
const LIVENESS_POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the broker")]
    NotConnected,
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("the broker returned the message as unroutable")]
    Unroutable,
    #[error("no confirm from the broker within {0:?}")]
    ConfirmTimedOut(Duration),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    #[error("serialising the message: {0}")]
    Encoding(#[from] serde_json::Error),
}

impl PublishError {
    /// Whether the message may have reached its queue all the same: it went out and no
    /// answer came (a timeout, a channel lost mid-way). The other failures are certain.
    pub fn may_have_been_queued(&self) -> bool {
        matches!(
            self,
            PublishError::ConfirmTimedOut(_) | PublishError::Amqp(_)
        )
    }
}

/// One outgoing message: already-serialised body plus the properties consumers rely on.
#[derive(Debug, Clone)]
pub struct OutgoingMessage<'a> {
    pub exchange: ExchangeRole,
    pub routing_key: &'a str,
    pub message_id: uuid::Uuid,
    pub correlation_id: uuid::Uuid,
    pub body: &'a [u8],
}

#[derive(Clone)]
struct Live {
    connection: Arc<Connection>,
    publishers: Arc<Vec<Channel>>,
}

/// A handle to the broker; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    config: Arc<AmqpConfig>,
    topology: Arc<Topology>,
    live: watch::Receiver<Option<Live>>,
    next_publisher: Arc<AtomicUsize>,
}

impl Broker {
    /// Connects once now and keeps the connection alive in the background until `shutdown`.
    /// Returns even when the broker is down; `check` and `publish` then report it.
    pub async fn start(
        config: AmqpConfig,
        topology: Topology,
        shutdown: CancellationToken,
    ) -> Self {
        let (sender, receiver) = watch::channel(None);
        let broker = Self {
            config: Arc::new(config),
            topology: Arc::new(topology),
            live: receiver,
            next_publisher: Arc::new(AtomicUsize::new(0)),
        };
        match broker.connect().await {
            Ok(live) => {
                sender.send_replace(Some(live));
            }
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "cannot reach the broker yet; retrying in the background"
            ),
        }
        tokio::spawn(broker.clone().supervise(sender, shutdown));
        broker
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Readiness: connected, and the topology was declared on this connection.
    pub async fn check(&self) -> anyhow::Result<()> {
        let live = self.live.borrow().clone();
        match live {
            Some(live) if live.connection.status().connected() => Ok(()),
            _ => anyhow::bail!("not connected to {}", redact(self.config.url.expose())),
        }
    }

    /// Opens a fresh channel for a consumer; waits until connected or `shutdown`.
    pub(crate) async fn consumer_channel(&self, shutdown: &CancellationToken) -> Option<Channel> {
        let mut live = self.live.clone();
        loop {
            let current = live.borrow_and_update().clone();
            if let Some(current) = current
                && current.connection.status().connected()
            {
                match current.connection.create_channel().await {
                    Ok(channel) => return Some(channel),
                    Err(error) => tracing::warn!(%error, "cannot open a consumer channel"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return None,
                changed = live.changed() => if changed.is_err() { return None },
                () = tokio::time::sleep(LIVENESS_POLL_INTERVAL) => {}
            }
        }
    }

    /// Publishes one persistent message and waits for the broker's confirm. An `Ok` means the
    /// broker has taken responsibility for the message.
    pub async fn publish(&self, message: OutgoingMessage<'_>) -> Result<(), PublishError> {
        let live = self
            .live
            .borrow()
            .clone()
            .ok_or(PublishError::NotConnected)?;
        let index = self.next_publisher.fetch_add(1, Ordering::Relaxed) % live.publishers.len();
        let channel = &live.publishers[index];
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message.message_id.to_string().into())
            .with_correlation_id(message.correlation_id.to_string().into())
            .with_type(message.routing_key.into());
        let exchange = self.topology.exchange(message.exchange);
        let timeout = self.config.publish_confirm_timeout;
        let confirm = async {
            channel
                .basic_publish(
                    exchange.as_str().into(),
                    message.routing_key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    message.body,
                    properties,
                )
                .await?
                .await
        };
        match tokio::time::timeout(timeout, confirm).await {
            Err(_) => Err(PublishError::ConfirmTimedOut(timeout)),
            Ok(Err(error)) => Err(PublishError::Amqp(error)),
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(_)))) => Err(PublishError::Unroutable),
            Ok(Ok(Confirmation::Nack(_) | Confirmation::NotRequested)) => Err(PublishError::Nacked),
        }
    }

    /// Publishes `envelope` as JSON (message id and correlation id from the envelope), waiting
    /// for the broker's confirm.
    pub async fn publish_envelope<P: Message>(
        &self,
        exchange: ExchangeRole,
        routing_key: &str,
        envelope: &Envelope<P>,
    ) -> Result<(), PublishError> {
        let body = serde_json::to_vec(envelope)?;
        self.publish(OutgoingMessage {
            exchange,
            routing_key,
            message_id: envelope.id,
            correlation_id: envelope.correlation_id,
            body: &body,
        })
        .await
    }

    async fn connect(&self) -> anyhow::Result<Live> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.topology.namespace().to_owned().into());
        let connection = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect(self.config.url.expose(), properties),
        )
        .await
        .context("connecting to the broker timed out")?
        .context("connecting to the broker")?;
        let setup = connection.create_channel().await?;
        self.topology
            .declare(&setup)
            .await
            .context("declaring the topology")?;
        setup.close(200, "topology declared".into()).await?;
        let mut publishers = Vec::with_capacity(PUBLISHER_CHANNEL_COUNT);
        for _ in 0..PUBLISHER_CHANNEL_COUNT {
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            publishers.push(channel);
        }
        tracing::info!(
            namespace = self.topology.namespace(),
            "connected to the broker"
        );
        Ok(Live {
            connection: Arc::new(connection),
            publishers: Arc::new(publishers),
        })
    }

    async fn supervise(self, sender: watch::Sender<Option<Live>>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(250);
        loop {
            let connected = sender
                .borrow()
                .as_ref()
                .is_some_and(|live| live.connection.status().connected());
            if connected {
                backoff = Duration::from_millis(250);
            } else {
                sender.send_replace(None);
                match self.connect().await {
                    Ok(live) => {
                        sender.send_replace(Some(live));
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            ?backoff,
                            "broker unreachable"
                        );
                        backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
                    }
                }
            }
            let wait = if connected {
                LIVENESS_POLL_INTERVAL
            } else {
                backoff
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Closes the connection once consumers and the outbox relay have stopped, so that their
    /// last acks and confirms go out first.
    pub async fn close(&self) {
        let live = self.live.borrow().clone();
        if let Some(live) = live
            && let Err(error) = live.connection.close(200, "shutting down".into()).await
        {
            tracing::debug!(%error, "closing the broker connection");
        }
    }
}

/// The broker URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn broker_urls_lose_their_credentials_in_messages() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1"), "amqp://127.0.0.1");
    }
}
