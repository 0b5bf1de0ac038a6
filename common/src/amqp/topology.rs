//! Names and declarations of the broker topology. Every service declares, idempotently at
//! each connect, the exchanges it publishes to and the queues it consumes from.
//!
//! - `<ns>.events` (topic): domain events, routing key = message type (`order.paid`).
//! - `<ns>.commands` (topic): commands such as `purchases.requested`.
//! - `<ns>.unrouted` (fanout) + queue: the alternate exchange of the two above, so that a
//!   message nobody is bound to yet is kept instead of silently dropped.
//! - `<ns>.dead-letter` (fanout) + queue: where poison messages end, after being refused or
//!   after `x-delivery-limit` deliveries, so that none can loop.
//!
//! Work queues are quorum queues (replicated, with a delivery limit).

use lapin::{
    Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
};

/// Which exchange a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeRole {
    Events,
    Commands,
    /// Where poison messages end; a service may also put a message there itself when it
    /// gives up on what the message asked (a notification that could not be delivered).
    DeadLetter,
}

impl ExchangeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeRole::Events => "events",
            ExchangeRole::Commands => "commands",
            ExchangeRole::DeadLetter => "dead-letter",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "events" => Some(ExchangeRole::Events),
            "commands" => Some(ExchangeRole::Commands),
            "dead-letter" => Some(ExchangeRole::DeadLetter),
            _ => None,
        }
    }
}

/// A work queue a service consumes, with what it is bound to.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// Short name; the declared queue is `<ns>.<name>`.
    pub name: String,
    pub bindings: Vec<(ExchangeRole, String)>,
}

impl QueueSpec {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            bindings: Vec::new(),
        }
    }

    pub fn bind(mut self, exchange: ExchangeRole, routing_key: &str) -> Self {
        self.bindings.push((exchange, routing_key.to_owned()));
        self
    }
}

/// The topology of one namespace: the shared exchanges plus a service's own queues.
#[derive(Debug, Clone)]
pub struct Topology {
    namespace: String,
    delivery_limit: u32,
    queues: Vec<QueueSpec>,
}

impl Topology {
    pub fn new(namespace: &str, delivery_limit: u32) -> Self {
        Self {
            namespace: namespace.to_owned(),
            delivery_limit,
            queues: Vec::new(),
        }
    }

    pub fn with_queue(mut self, queue: QueueSpec) -> Self {
        self.queues.push(queue);
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn exchange(&self, role: ExchangeRole) -> String {
        format!("{}.{}", self.namespace, role.as_str())
    }

    pub fn queue(&self, name: &str) -> String {
        format!("{}.{name}", self.namespace)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    pub fn dead_letter_queue(&self) -> String {
        self.dead_letter_exchange()
    }

    pub fn unrouted_exchange(&self) -> String {
        format!("{}.unrouted", self.namespace)
    }

    pub fn unrouted_queue(&self) -> String {
        self.unrouted_exchange()
    }

    /// Every exchange and queue name of this topology (for tests that clean up).
    pub fn all_names(&self) -> (Vec<String>, Vec<String>) {
        let exchanges = vec![
            self.exchange(ExchangeRole::Events),
            self.exchange(ExchangeRole::Commands),
            self.unrouted_exchange(),
            self.dead_letter_exchange(),
        ];
        let mut queues = vec![self.unrouted_queue(), self.dead_letter_queue()];
        queues.extend(self.queues.iter().map(|queue| self.queue(&queue.name)));
        (exchanges, queues)
    }

    /// Declares everything; safe to run any number of times with the same arguments.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for (exchange, queue) in [
            (self.dead_letter_exchange(), self.dead_letter_queue()),
            (self.unrouted_exchange(), self.unrouted_queue()),
        ] {
            channel
                .exchange_declare(
                    exchange.as_str().into(),
                    ExchangeKind::Fanout,
                    durable,
                    FieldTable::default(),
                )
                .await?;
            self.declare_quorum_queue(channel, &queue, false).await?;
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        for role in [ExchangeRole::Events, ExchangeRole::Commands] {
            let mut arguments = FieldTable::default();
            arguments.insert(
                "alternate-exchange".into(),
                long_string(&self.unrouted_exchange()),
            );
            channel
                .exchange_declare(
                    self.exchange(role).as_str().into(),
                    ExchangeKind::Topic,
                    durable,
                    arguments,
                )
                .await?;
        }
        for queue in &self.queues {
            let name = self.queue(&queue.name);
            self.declare_quorum_queue(channel, &name, true).await?;
            for (role, routing_key) in &queue.bindings {
                channel
                    .queue_bind(
                        name.as_str().into(),
                        self.exchange(*role).as_str().into(),
                        routing_key.as_str().into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn declare_quorum_queue(
        &self,
        channel: &Channel,
        name: &str,
        dead_letter: bool,
    ) -> lapin::Result<()> {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), long_string("quorum"));
        if dead_letter {
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(self.delivery_limit)),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                long_string(&self.dead_letter_exchange()),
            );
        }
        channel
            .queue_declare(
                ShortString::from(name),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                arguments,
            )
            .await?;
        Ok(())
    }
}

fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}
