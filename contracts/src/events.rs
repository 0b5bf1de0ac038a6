//! Venues, seat maps, events and price tiers on the wire, and the `event.published` message
//! that hands an event's inventory to order-service.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::messages::Message;

/// `POST /v1/venues`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateVenueRequest {
    pub name: String,
    pub city: String,
    pub address: String,
    #[serde(default)]
    pub sections: Vec<SectionSpec>,
    #[serde(default)]
    pub areas: Vec<AreaSpec>,
}

/// A reserved-seating section: rows of numbered seats (`Stalls`, row `F`, seats 1..=n).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionSpec {
    pub name: String,
    pub rows: Vec<RowSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowSpec {
    pub label: String,
    /// How many seats the row has; they are numbered from 1.
    pub seats: u32,
}

/// A general-admission area: places without seat numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AreaSpec {
    pub name: String,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Venue {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    pub address: String,
    pub sections: Vec<Section>,
    pub areas: Vec<Area>,
    /// Seats plus general-admission places.
    pub capacity: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub id: Uuid,
    pub name: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub id: Uuid,
    pub number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    pub id: Uuid,
    pub name: String,
    pub capacity: u32,
}

/// `POST /v1/events`: a draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateEventRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    pub venue_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub sales_open_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sales_close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
    pub tiers: Vec<TierSpec>,
}

/// A price tier, covering sections and/or areas of the venue by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierSpec {
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub sections: Vec<String>,
    #[serde(default)]
    pub areas: Vec<String>,
}

/// `PATCH /v1/events/{id}`: text may change at any time; schedule, limit and tiers only
/// while the event is a draft.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateEventRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub sales_open_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_buyer_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<TierSpec>>,
    /// New prices of existing tiers; allowed after publishing too (orders already made keep
    /// the price they were made at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_prices: Option<Vec<TierPrice>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPrice {
    pub tier_id: Uuid,
    pub price_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Draft,
    Published,
    /// Cancelled by its organiser after publishing: off the catalog, every order refunded.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub organiser_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub venue: VenueSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub sales_open_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sales_close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
    pub status: EventStatus,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueSummary {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    #[serde(default)]
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub id: Uuid,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    /// Seats plus general-admission places in the tier.
    pub capacity: u64,
}

/// `GET /v1/events`: a page of published events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

/// `event.published`: everything order-service needs to build the event's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPublishedV1 {
    pub event_id: Uuid,
    pub organiser_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub sales_open_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sales_close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
    pub tiers: Vec<PublishedTier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTier {
    pub tier_id: Uuid,
    pub price_minor: i64,
    pub currency: String,
    pub seat_ids: Vec<Uuid>,
    pub areas: Vec<PublishedArea>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedArea {
    pub area_id: Uuid,
    pub capacity: u32,
}

impl Message for EventPublishedV1 {
    const TYPE: &'static str = "event.published";
    const VERSION: u16 = 1;
}

/// `GET /v1/events/{id}/availability`, and each message of its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub event_id: Uuid,
    pub tiers: Vec<TierAvailability>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierAvailability {
    pub tier_id: Uuid,
    pub remaining: u64,
    pub capacity: u64,
}

/// Where a place stands; order-service is the only one to change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceState {
    Available,
    Held,
    Sold,
}

/// `GET /v1/events/{id}/seats`: every numbered seat with its tier and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatMap {
    pub event_id: Uuid,
    pub seats: Vec<SeatStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatStatus {
    pub seat_id: Uuid,
    pub section: String,
    pub row: String,
    pub number: u32,
    pub tier_id: Uuid,
    pub state: PlaceState,
}

/// event-service's internal `GET /internal/v1/events/{id}/places`: everything a ticket of the
/// event prints (ticket-service reads it once per event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPlaces {
    pub event: Event,
    pub seats: Vec<SeatLabel>,
    pub areas: Vec<AreaLabel>,
}

/// A numbered seat: section, row, number, and the tier it is sold in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatLabel {
    pub seat_id: Uuid,
    pub section: String,
    pub row: String,
    pub number: u32,
    pub tier_id: Uuid,
}

/// A general-admission area and the tier it is sold in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaLabel {
    pub area_id: Uuid,
    pub name: String,
    pub tier_id: Uuid,
}

/// order-service's internal `GET /internal/v1/events/{id}/inventory`: the numbers Postgres
/// holds, for when the Redis counters are missing, and each seat's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInventory {
    pub event_id: Uuid,
    pub tiers: Vec<TierInventory>,
    pub seats: Vec<PlaceStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierInventory {
    pub tier_id: Uuid,
    pub available: u64,
    pub held: u64,
    pub sold: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceStatus {
    pub place_id: Uuid,
    pub state: PlaceState,
}

/// `event.repriced`: tier prices changed after publishing; they apply to new reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRepricedV1 {
    pub event_id: Uuid,
    pub prices: Vec<TierPrice>,
}

impl Message for EventRepricedV1 {
    const TYPE: &'static str = "event.repriced";
    const VERSION: u16 = 1;
}

/// `event.cancelled`: the organiser cancelled a published event; sales stop and every order
/// is released or refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCancelledV1 {
    pub event_id: Uuid,
    pub organiser_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub cancelled_at: OffsetDateTime,
}

impl Message for EventCancelledV1 {
    const TYPE: &'static str = "event.cancelled";
    const VERSION: u16 = 1;
}
