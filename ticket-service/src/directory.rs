//! What tickets print that ticket-service does not own: an event's title, date, venue and the
//! label of each place (event-service's internal `/internal/v1/events/{id}/places`) and the
//! holder's name (account-service's internal contacts). Both are read over HTTP and kept for a
//! minute: a drop issues thousands of tickets of one event, which must not cost thousands of
//! reads, and one event is fetched once however many orders ask for it at the same moment.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use contracts::{
    accounts::{ContactsLookup, ContactsLookupRequest},
    events::EventPlaces,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::TicketConfig;

const KEPT_FOR: Duration = Duration::from_secs(60);
/// Bounds on what is remembered; past them the oldest half is forgotten.
const MAX_EVENTS: usize = 256;
const MAX_NAMES: usize = 50_000;

/// An event as its tickets print it.
#[derive(Debug)]
pub struct EventFacts {
    pub organiser_id: Uuid,
    pub title: String,
    pub starts_at: OffsetDateTime,
    pub venue: String,
    /// Seat id -> (label, tier name).
    seats: HashMap<Uuid, (String, String)>,
    /// Area id -> (label, tier name).
    areas: HashMap<Uuid, (String, String)>,
}

impl EventFacts {
    fn new(places: EventPlaces) -> Self {
        let event = places.event;
        let tier_names: HashMap<Uuid, String> = event
            .tiers
            .iter()
            .map(|tier| (tier.id, tier.name.clone()))
            .collect();
        let tier = |tier_id: &Uuid| tier_names.get(tier_id).cloned().unwrap_or_default();
        let venue = [&event.venue.name, &event.venue.address, &event.venue.city]
            .iter()
            .filter(|part| !part.is_empty())
            .map(|part| part.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            organiser_id: event.organiser_id,
            title: event.title,
            starts_at: event.starts_at,
            venue,
            seats: places
                .seats
                .iter()
                .map(|seat| {
                    let label = format!("{}, row {}, seat {}", seat.section, seat.row, seat.number);
                    (seat.seat_id, (label, tier(&seat.tier_id)))
                })
                .collect(),
            areas: places
                .areas
                .iter()
                .map(|area| {
                    let label = format!("{} (general admission)", area.name);
                    (area.area_id, (label, tier(&area.tier_id)))
                })
                .collect(),
        }
    }

    /// The label and tier of a place: a numbered seat, or a place of an area.
    pub fn place(&self, place_id: Uuid, area_id: Option<Uuid>) -> Option<&(String, String)> {
        match area_id {
            Some(area_id) => self.areas.get(&area_id),
            None => self.seats.get(&place_id),
        }
    }
}

type EventSlot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<EventFacts>)>>>;

pub struct Directory {
    http: reqwest::Client,
    event_url: String,
    account_url: String,
    events: Mutex<HashMap<Uuid, EventSlot>>,
    names: Mutex<HashMap<Uuid, (Instant, String)>>,
}

impl Directory {
    pub fn new(config: &TicketConfig) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(config.upstream_timeout)
                .build()?,
            event_url: config.event_url.trim_end_matches('/').to_owned(),
            account_url: config.account_url.trim_end_matches('/').to_owned(),
            events: Mutex::default(),
            names: Mutex::default(),
        })
    }

    pub async fn event(&self, event_id: Uuid) -> anyhow::Result<Arc<EventFacts>> {
        let slot = {
            let mut events = lock(&self.events);
            if events.len() > MAX_EVENTS {
                events.clear();
            }
            events.entry(event_id).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some((fetched, facts)) = slot.as_ref()
            && fetched.elapsed() < KEPT_FOR
        {
            return Ok(facts.clone());
        }
        let url = format!("{}/internal/v1/events/{event_id}/places", self.event_url);
        let places: EventPlaces = self
            .http
            .get(url)
            .send()
            .await
            .context("asking event-service")?
            .error_for_status()
            .context("event-service's places")?
            .json()
            .await
            .context("reading event-service's places")?;
        let facts = Arc::new(EventFacts::new(places));
        *slot = Some((Instant::now(), facts.clone()));
        Ok(facts)
    }

    pub async fn holder_name(&self, account_id: Uuid) -> anyhow::Result<String> {
        if let Some((fetched, name)) = lock(&self.names).get(&account_id)
            && fetched.elapsed() < KEPT_FOR
        {
            return Ok(name.clone());
        }
        let url = format!("{}/internal/v1/contacts/lookup", self.account_url);
        let lookup: ContactsLookup = self
            .http
            .post(url)
            .json(&ContactsLookupRequest {
                account_ids: vec![account_id],
            })
            .send()
            .await
            .context("asking account-service")?
            .error_for_status()
            .context("account-service's contacts")?
            .json()
            .await
            .context("reading account-service's contacts")?;
        let contacts = lookup
            .contacts
            .into_iter()
            .next()
            .with_context(|| format!("no account {account_id}"))?;
        let mut names = lock(&self.names);
        if names.len() > MAX_NAMES {
            names.retain(|_, (fetched, _)| fetched.elapsed() < KEPT_FOR / 2);
        }
        names.insert(account_id, (Instant::now(), contacts.name.clone()));
        Ok(contacts.name)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
