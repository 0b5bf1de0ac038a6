//! Venues, sections, seats and areas. Seats go in with one `unnest` insert per venue, not a
//! statement per seat: a 60,000-seat venue is one round trip.

use contracts::events::{Area, Row, Seat, Section, Venue};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::{NewVenue, VenueLayout};

/// Inserts the venue with all its sections, seats and areas; returns it with the new ids.
pub async fn insert_venue(
    client: &impl GenericClient,
    organiser_id: Uuid,
    venue: &NewVenue,
) -> Result<Venue, tokio_postgres::Error> {
    let venue_id = Uuid::now_v7();
    client
        .execute(
            "INSERT INTO venues (id, organiser_id, name, city, address) VALUES ($1, $2, $3, $4, $5)",
            &[&venue_id, &organiser_id, &venue.name, &venue.city, &venue.address],
        )
        .await?;

    let mut sections = Vec::with_capacity(venue.sections.len());
    let (mut seat_ids, mut seat_sections, mut labels, mut row_positions, mut numbers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for spec in &venue.sections {
        let section_id = Uuid::now_v7();
        let mut rows = Vec::with_capacity(spec.rows.len());
        for (row_position, row) in spec.rows.iter().enumerate() {
            let seats: Vec<Seat> = (1..=row.seats)
                .map(|number| Seat {
                    id: Uuid::now_v7(),
                    number,
                })
                .collect();
            for seat in &seats {
                seat_ids.push(seat.id);
                seat_sections.push(section_id);
                labels.push(row.label.trim().to_owned());
                row_positions.push(i32::try_from(row_position).unwrap_or(i32::MAX));
                numbers.push(i32::try_from(seat.number).unwrap_or(i32::MAX));
            }
            rows.push(Row {
                label: row.label.trim().to_owned(),
                seats,
            });
        }
        sections.push(Section {
            id: section_id,
            name: spec.name.clone(),
            rows,
        });
    }
    let section_ids: Vec<Uuid> = sections.iter().map(|section| section.id).collect();
    let section_names: Vec<&str> = sections
        .iter()
        .map(|section| section.name.as_str())
        .collect();
    let section_positions: Vec<i32> = (0..).take(sections.len()).collect();
    client
        .execute(
            "INSERT INTO venue_sections (id, venue_id, name, position)
             SELECT id, $1, name, position FROM unnest($2::uuid[], $3::text[], $4::int[])
                 AS s (id, name, position)",
            &[&venue_id, &section_ids, &section_names, &section_positions],
        )
        .await?;
    client
        .execute(
            "INSERT INTO venue_seats (id, section_id, row_label, row_position, seat_number)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[])",
            &[&seat_ids, &seat_sections, &labels, &row_positions, &numbers],
        )
        .await?;

    let areas: Vec<Area> = venue
        .areas
        .iter()
        .map(|spec| Area {
            id: Uuid::now_v7(),
            name: spec.name.clone(),
            capacity: spec.capacity,
        })
        .collect();
    let area_ids: Vec<Uuid> = areas.iter().map(|area| area.id).collect();
    let area_names: Vec<&str> = areas.iter().map(|area| area.name.as_str()).collect();
    let capacities: Vec<i32> = areas
        .iter()
        .map(|area| i32::try_from(area.capacity).unwrap_or(i32::MAX))
        .collect();
    let area_positions: Vec<i32> = (0..).take(areas.len()).collect();
    client
        .execute(
            "INSERT INTO venue_areas (id, venue_id, name, capacity, position)
             SELECT id, $1, name, capacity, position
             FROM unnest($2::uuid[], $3::text[], $4::int[], $5::int[]) AS a (id, name, capacity, position)",
            &[&venue_id, &area_ids, &area_names, &capacities, &area_positions],
        )
        .await?;

    let capacity = seat_ids.len() as u64
        + areas
            .iter()
            .map(|area| u64::from(area.capacity))
            .sum::<u64>();
    Ok(Venue {
        id: venue_id,
        name: venue.name.clone(),
        city: venue.city.clone(),
        address: venue.address.clone(),
        sections,
        areas,
        capacity,
    })
}

pub async fn find_venue_owner(
    client: &impl GenericClient,
    venue_id: Uuid,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT organiser_id FROM venues WHERE id = $1",
            &[&venue_id],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Section and area names of a venue, which tiers refer to.
pub async fn find_layout(
    client: &impl GenericClient,
    venue_id: Uuid,
) -> Result<VenueLayout, tokio_postgres::Error> {
    let sections = client
        .query(
            "SELECT name, id FROM venue_sections WHERE venue_id = $1",
            &[&venue_id],
        )
        .await?;
    let areas = client
        .query(
            "SELECT name, id FROM venue_areas WHERE venue_id = $1",
            &[&venue_id],
        )
        .await?;
    Ok(VenueLayout {
        sections: sections
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect(),
        areas: areas.iter().map(|row| (row.get(0), row.get(1))).collect(),
    })
}
