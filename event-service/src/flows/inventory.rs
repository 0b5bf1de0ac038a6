//! order-service's numbers, read over its internal HTTP API: seat states for the seat map,
//! and places per tier when the Redis counters are missing.

use std::time::Duration;

use anyhow::Context;
use contracts::events::EventInventory;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A client of order-service's inventory; cheap to clone.
#[derive(Clone)]
pub struct OrderInventory {
    http: reqwest::Client,
    base_url: String,
}

impl OrderInventory {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(TIMEOUT)
                .build()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The event's inventory, or `None` while order-service has not built it.
    pub async fn fetch(&self, event_id: Uuid) -> anyhow::Result<Option<EventInventory>> {
        let url = format!("{}/internal/v1/events/{event_id}/inventory", self.base_url);
        let response = self
            .http
            .get(url)
            .send()
            .await
            .context("asking order-service")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let inventory = response
            .error_for_status()
            .context("order-service's inventory")?
            .json()
            .await
            .context("reading order-service's inventory")?;
        Ok(Some(inventory))
    }
}
