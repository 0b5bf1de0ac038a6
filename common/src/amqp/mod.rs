//! RabbitMQ: the broker connection and its confirms, the topology, consumers, and the
//! transactional outbox with its relay.

pub mod broker;
pub mod consumer;
pub mod outbox;
pub mod topology;

pub use broker::{Broker, OutgoingMessage, PublishError};
pub use consumer::{
    BatchConsumerSpec, ConsumerSpec, HandlerError, decode, handle_together, spawn_batch_consumer,
    spawn_consumer,
};
pub use outbox::{OutboxSignal, spawn_relay};
pub use topology::{ExchangeRole, QueueSpec, Topology};
