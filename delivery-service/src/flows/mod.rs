//! The use cases of delivery-service: writing the notices a message calls for into the
//! delivery log, sending what is due (with retries), and reading the log.

pub mod history;
pub mod notify;
pub mod pacing;
pub mod sending;

use std::sync::Arc;

use common::{amqp::Broker, postgres::Database};
use tokio::sync::Notify;

use self::pacing::Pace;

use crate::{
    channels::{email::EmailSender, sms::SmsSender},
    config::DeliveryConfig,
    contacts::Contacts,
    templates::Templates,
};

/// What the flows need, built once in `startup`.
#[derive(Clone)]
pub struct Deps {
    pub database: Database,
    pub broker: Broker,
    pub templates: Arc<Templates>,
    pub contacts: Contacts,
    pub email: EmailSender,
    pub sms: SmsSender,
    /// Wakes the sender when notices were written, instead of waiting for its next look.
    pub wake_sender: Arc<Notify>,
    pub pace: Arc<Pace>,
    pub delivery: DeliveryConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no such failed notification")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for DeliveryError {
    fn from(error: tokio_postgres::Error) -> Self {
        DeliveryError::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for DeliveryError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        DeliveryError::Internal(error.into())
    }
}
