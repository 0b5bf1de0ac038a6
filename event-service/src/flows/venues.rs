//! Creating a venue with its whole seat map in one transaction.

use contracts::events::{CreateVenueRequest, Venue};
use uuid::Uuid;

use super::{Deps, EventError};
use crate::{domain::NewVenue, storage::venues};

#[tracing::instrument(skip_all, fields(%organiser_id))]
pub async fn create_venue(
    deps: &Deps,
    organiser_id: Uuid,
    request: CreateVenueRequest,
) -> Result<Venue, EventError> {
    let venue = NewVenue::parse(request).map_err(EventError::Invalid)?;
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let created = venues::insert_venue(&transaction, organiser_id, &venue).await?;
    transaction.commit().await?;
    tracing::info!(venue_id = %created.id, capacity = created.capacity, "venue created");
    Ok(created)
}
