//! The seat map: event-service's seats (section, row, number, tier) with the state
//! order-service, the only writer of seat state, holds for each; and the labels of every
//! place, which ticket-service prints on tickets.

use std::collections::HashMap;

use contracts::events::{EventPlaces, PlaceState, SeatLabel, SeatMap, SeatStatus};
use uuid::Uuid;

use super::{Deps, EventError};
use crate::storage;

pub async fn seat_map(deps: &Deps, event_id: Uuid) -> Result<SeatMap, EventError> {
    let event = super::events::event(deps, None, event_id).await?;
    let seats = {
        let client = deps.database.pool().get().await?;
        storage::events::seats(&client, event.id).await?
    };
    let states: HashMap<Uuid, PlaceState> = match deps.orders.fetch(event.id).await {
        Ok(Some(inventory)) => inventory
            .seats
            .into_iter()
            .map(|seat| (seat.place_id, seat.state))
            .collect(),
        // Published but not built by order-service yet: nothing is taken.
        Ok(None) => HashMap::new(),
        Err(error) => {
            tracing::warn!(%event_id, error = format!("{error:#}"), "no seat states from order-service");
            return Err(EventError::Unavailable(
                "seat states cannot be read right now; nothing changed",
            ));
        }
    };
    Ok(SeatMap {
        event_id: event.id,
        seats: seats
            .into_iter()
            .map(|seat| SeatStatus {
                state: states
                    .get(&seat.id)
                    .copied()
                    .unwrap_or(PlaceState::Available),
                seat_id: seat.id,
                section: seat.section,
                row: seat.row,
                number: seat.number,
                tier_id: seat.tier_id,
            })
            .collect(),
    })
}

/// The event (published or cancelled) with the label of each of its places.
pub async fn places(deps: &Deps, event_id: Uuid) -> Result<EventPlaces, EventError> {
    let event = super::events::event(deps, None, event_id).await?;
    let client = deps.database.pool().get().await?;
    let seats = storage::events::seats(&client, event.id).await?;
    let areas = storage::events::areas(&client, event.id).await?;
    Ok(EventPlaces {
        event,
        seats: seats
            .into_iter()
            .map(|seat| SeatLabel {
                seat_id: seat.id,
                section: seat.section,
                row: seat.row,
                number: seat.number,
                tier_id: seat.tier_id,
            })
            .collect(),
        areas,
    })
}
