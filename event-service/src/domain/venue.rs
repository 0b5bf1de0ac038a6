//! A venue's seat map as submitted: sections of rows of numbered seats, and general-admission
//! areas with a capacity.

use std::collections::HashSet;

use contracts::events::{AreaSpec, CreateVenueRequest, SectionSpec};

use super::FieldErrors;

/// Largest venue accepted in one call (seats plus places).
const MAX_VENUE_CAPACITY: u64 = 200_000;
const MAX_SEATS_PER_ROW: u32 = 2_000;

#[derive(Debug)]
pub struct NewVenue {
    pub name: String,
    pub city: String,
    pub address: String,
    pub sections: Vec<SectionSpec>,
    pub areas: Vec<AreaSpec>,
}

/// A required text field: trimmed, 1 to `max` characters.
pub fn text(errors: &mut FieldErrors, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    match value.chars().count() {
        0 => {
            errors.insert(field.to_owned(), "must not be empty".to_owned());
        }
        n if n > max => {
            errors.insert(
                field.to_owned(),
                format!("must be at most {max} characters"),
            );
        }
        _ => {}
    }
    value.to_owned()
}

impl NewVenue {
    pub fn parse(request: CreateVenueRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = text(&mut errors, "name", &request.name, 200);
        let city = text(&mut errors, "city", &request.city, 100);
        let address = text(&mut errors, "address", &request.address, 300);
        if request.sections.is_empty() && request.areas.is_empty() {
            errors.insert(
                "sections".to_owned(),
                "a venue needs at least one section or area".to_owned(),
            );
        }
        let mut capacity: u64 = 0;
        let mut section_names = HashSet::new();
        for (index, section) in request.sections.iter().enumerate() {
            let field = format!("sections[{index}]");
            let name = text(&mut errors, &format!("{field}.name"), &section.name, 100);
            if !section_names.insert(name.to_lowercase()) {
                errors.insert(format!("{field}.name"), format!("{name} appears twice"));
            }
            if section.rows.is_empty() {
                errors.insert(format!("{field}.rows"), "a section needs rows".to_owned());
            }
            let mut labels = HashSet::new();
            for (row_index, row) in section.rows.iter().enumerate() {
                let row_field = format!("{field}.rows[{row_index}]");
                let label = text(&mut errors, &format!("{row_field}.label"), &row.label, 20);
                if !labels.insert(label.clone()) {
                    errors.insert(
                        format!("{row_field}.label"),
                        format!("row {label} appears twice"),
                    );
                }
                if !(1..=MAX_SEATS_PER_ROW).contains(&row.seats) {
                    errors.insert(
                        format!("{row_field}.seats"),
                        format!("must be between 1 and {MAX_SEATS_PER_ROW}"),
                    );
                }
                capacity += u64::from(row.seats);
            }
        }
        let mut area_names = HashSet::new();
        for (index, area) in request.areas.iter().enumerate() {
            let field = format!("areas[{index}]");
            let name = text(&mut errors, &format!("{field}.name"), &area.name, 100);
            if !area_names.insert(name.to_lowercase()) {
                errors.insert(format!("{field}.name"), format!("{name} appears twice"));
            }
            if area.capacity == 0 {
                errors.insert(format!("{field}.capacity"), "must be at least 1".to_owned());
            }
            capacity += u64::from(area.capacity);
        }
        if capacity > MAX_VENUE_CAPACITY {
            errors.insert(
                "capacity".to_owned(),
                format!("{capacity} places is more than the {MAX_VENUE_CAPACITY} accepted"),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let trimmed = |spec: &SectionSpec| SectionSpec {
            name: spec.name.trim().to_owned(),
            rows: spec.rows.clone(),
        };
        Ok(Self {
            name,
            city,
            address,
            sections: request.sections.iter().map(trimmed).collect(),
            areas: request
                .areas
                .iter()
                .map(|area| AreaSpec {
                    name: area.name.trim().to_owned(),
                    capacity: area.capacity,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use contracts::events::RowSpec;

    use super::*;

    fn request(sections: Vec<SectionSpec>, areas: Vec<AreaSpec>) -> CreateVenueRequest {
        CreateVenueRequest {
            name: "Hall".to_owned(),
            city: "Lyon".to_owned(),
            address: "1 Rue".to_owned(),
            sections,
            areas,
        }
    }

    #[test]
    fn an_empty_venue_and_duplicate_names_are_refused() {
        assert!(NewVenue::parse(request(vec![], vec![])).is_err());
        let row = RowSpec {
            label: "A".to_owned(),
            seats: 10,
        };
        let twice = vec![
            SectionSpec {
                name: "Stalls".to_owned(),
                rows: vec![row.clone()],
            },
            SectionSpec {
                name: "stalls ".to_owned(),
                rows: vec![row],
            },
        ];
        let errors = NewVenue::parse(request(twice, vec![])).expect_err("duplicate");
        assert!(errors.contains_key("sections[1].name"), "{errors:?}");
    }

    #[test]
    fn a_zero_capacity_area_is_refused() {
        let areas = vec![AreaSpec {
            name: "Floor".to_owned(),
            capacity: 0,
        }];
        let errors = NewVenue::parse(request(vec![], areas)).expect_err("invalid");
        assert!(errors.contains_key("areas[0].capacity"));
    }
}
