//! An event draft: its text, its schedule, its per-buyer limit, and tiers that together cover
//! every section and area of the venue exactly once.

use std::collections::{HashMap, HashSet};

use contracts::events::TierSpec;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{FieldErrors, text};

/// Most tickets one buyer may be allowed per event.
const MAX_PER_BUYER_LIMIT: u32 = 50;

/// The names a venue's sections and areas go by, which tiers refer to.
#[derive(Debug, Clone, Default)]
pub struct VenueLayout {
    pub sections: HashMap<String, Uuid>,
    pub areas: HashMap<String, Uuid>,
}

/// Text fields, editable at any time.
#[derive(Debug, Clone)]
pub struct EventText {
    pub title: String,
    pub description: String,
    pub category: String,
}

impl EventText {
    pub fn parse(errors: &mut FieldErrors, title: &str, description: &str, category: &str) -> Self {
        let title = text(errors, "title", title, 200);
        let description = description.trim().to_owned();
        if description.chars().count() > 10_000 {
            errors.insert(
                "description".to_owned(),
                "must be at most 10000 characters".to_owned(),
            );
        }
        let category = text(errors, "category", category, 50).to_lowercase();
        Self {
            title,
            description,
            category,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TierDraft {
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub section_ids: Vec<Uuid>,
    pub area_ids: Vec<Uuid>,
}

/// Schedule, limit and tiers: frozen once the event is published.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub starts_at: OffsetDateTime,
    pub sales_open_at: OffsetDateTime,
    pub sales_close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
    pub tiers: Vec<TierDraft>,
}

impl EventDraft {
    /// Checks the schedule and limit, and resolves tier coverage against `layout`.
    pub fn parse(
        errors: &mut FieldErrors,
        starts_at: OffsetDateTime,
        sales_open_at: OffsetDateTime,
        sales_close_at: Option<OffsetDateTime>,
        per_buyer_limit: u32,
        tiers: &[TierSpec],
        layout: &VenueLayout,
    ) -> Self {
        check_schedule(
            errors,
            starts_at,
            sales_open_at,
            sales_close_at,
            per_buyer_limit,
        );
        let tiers = resolve_tiers(errors, tiers, layout);
        Self {
            starts_at,
            sales_open_at,
            sales_close_at,
            per_buyer_limit,
            tiers,
        }
    }
}

/// Sales open before the show and close no later than it; the per-buyer limit is sane.
pub fn check_schedule(
    errors: &mut FieldErrors,
    starts_at: OffsetDateTime,
    sales_open_at: OffsetDateTime,
    sales_close_at: Option<OffsetDateTime>,
    per_buyer_limit: u32,
) {
    {
        if sales_open_at >= starts_at {
            errors.insert(
                "sales_open_at".to_owned(),
                "must be before starts_at".to_owned(),
            );
        }
        if let Some(close) = sales_close_at
            && (close <= sales_open_at || close > starts_at)
        {
            errors.insert(
                "sales_close_at".to_owned(),
                "must be after sales_open_at and no later than starts_at".to_owned(),
            );
        }
        if !(1..=MAX_PER_BUYER_LIMIT).contains(&per_buyer_limit) {
            errors.insert(
                "per_buyer_limit".to_owned(),
                format!("must be between 1 and {MAX_PER_BUYER_LIMIT}"),
            );
        }
    }
}

/// Every section and every area belongs to exactly one tier: none left out, none in two, no
/// tier covering nothing.
pub fn resolve_tiers(
    errors: &mut FieldErrors,
    tiers: &[TierSpec],
    layout: &VenueLayout,
) -> Vec<TierDraft> {
    if tiers.is_empty() {
        errors.insert(
            "tiers".to_owned(),
            "an event needs at least one tier".to_owned(),
        );
    }
    let mut section_owner: HashMap<Uuid, &str> = HashMap::new();
    let mut area_owner: HashMap<Uuid, &str> = HashMap::new();
    let mut names = HashSet::new();
    let mut resolved = Vec::with_capacity(tiers.len());
    for (index, tier) in tiers.iter().enumerate() {
        let field = format!("tiers[{index}]");
        let name = text(errors, &format!("{field}.name"), &tier.name, 100);
        if !names.insert(name.to_lowercase()) {
            errors.insert(format!("{field}.name"), format!("{name} appears twice"));
        }
        if tier.price_minor < 0 {
            errors.insert(
                format!("{field}.price_minor"),
                "must not be negative".to_owned(),
            );
        }
        let currency = tier.currency.trim().to_owned();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            errors.insert(
                format!("{field}.currency"),
                "must be an ISO 4217 code like EUR".to_owned(),
            );
        }
        if tier.sections.is_empty() && tier.areas.is_empty() {
            errors.insert(field.clone(), "covers no section and no area".to_owned());
        }
        let section_ids = claim(
            errors,
            &format!("{field}.sections"),
            &tier.sections,
            &layout.sections,
            &mut section_owner,
            &tier.name,
        );
        let area_ids = claim(
            errors,
            &format!("{field}.areas"),
            &tier.areas,
            &layout.areas,
            &mut area_owner,
            &tier.name,
        );
        resolved.push(TierDraft {
            name,
            price_minor: tier.price_minor,
            currency,
            section_ids,
            area_ids,
        });
    }
    let mut uncovered: Vec<&str> = layout
        .sections
        .iter()
        .filter(|(_, id)| !section_owner.contains_key(id))
        .chain(
            layout
                .areas
                .iter()
                .filter(|(_, id)| !area_owner.contains_key(id)),
        )
        .map(|(name, _)| name.as_str())
        .collect();
    if !uncovered.is_empty() {
        uncovered.sort_unstable();
        errors.insert(
            "tiers".to_owned(),
            format!("not in any tier: {}", uncovered.join(", ")),
        );
    }
    resolved
}

/// Resolves `names` to ids for one tier, recording overlaps and unknown names.
fn claim<'a>(
    errors: &mut FieldErrors,
    field: &str,
    names: &[String],
    known: &HashMap<String, Uuid>,
    owners: &mut HashMap<Uuid, &'a str>,
    tier: &'a str,
) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        match known.get(name.trim()) {
            None => {
                errors.insert(field.to_owned(), format!("the venue has no {name}"));
            }
            Some(id) => match owners.insert(*id, tier) {
                Some(other) if other != tier || ids.contains(id) => {
                    errors.insert(
                        field.to_owned(),
                        format!("{name} is already in tier {other}"),
                    );
                }
                _ => ids.push(*id),
            },
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn layout() -> VenueLayout {
        VenueLayout {
            sections: [
                ("Stalls".to_owned(), Uuid::now_v7()),
                ("Balcony".to_owned(), Uuid::now_v7()),
            ]
            .into(),
            areas: [("Floor".to_owned(), Uuid::now_v7())].into(),
        }
    }

    fn tier(name: &str, sections: &[&str], areas: &[&str]) -> TierSpec {
        TierSpec {
            name: name.to_owned(),
            price_minor: 5_000,
            currency: "EUR".to_owned(),
            sections: sections.iter().map(|s| (*s).to_owned()).collect(),
            areas: areas.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    fn parse(tiers: &[TierSpec]) -> FieldErrors {
        let mut errors = FieldErrors::new();
        EventDraft::parse(
            &mut errors,
            datetime!(2027-06-01 20:00 UTC),
            datetime!(2027-03-01 10:00 UTC),
            None,
            4,
            tiers,
            &layout(),
        );
        errors
    }

    #[test]
    fn tiers_covering_everything_once_are_accepted() {
        let errors = parse(&[
            tier("A", &["Stalls"], &["Floor"]),
            tier("B", &["Balcony"], &[]),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn an_overlapping_tier_is_refused_naming_the_section() {
        let errors = parse(&[
            tier("A", &["Stalls", "Balcony"], &["Floor"]),
            tier("B", &["Balcony"], &[]),
        ]);
        assert!(
            errors["tiers[1].sections"].contains("Balcony"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_empty_tier_and_an_uncovered_area_are_refused() {
        let errors = parse(&[tier("A", &["Stalls", "Balcony"], &[]), tier("B", &[], &[])]);
        assert!(errors.contains_key("tiers[1]"), "{errors:?}");
        assert!(errors["tiers"].contains("Floor"), "{errors:?}");
    }

    #[test]
    fn sales_must_open_before_the_show() {
        let mut errors = FieldErrors::new();
        EventDraft::parse(
            &mut errors,
            datetime!(2027-06-01 20:00 UTC),
            datetime!(2027-06-02 10:00 UTC),
            None,
            0,
            &[tier("A", &["Stalls", "Balcony"], &["Floor"])],
            &layout(),
        );
        assert!(errors.contains_key("sales_open_at"));
        assert!(errors.contains_key("per_buyer_limit"));
    }
}
