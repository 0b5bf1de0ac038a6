//! Pure rules of venues and events: what a valid seat map is, what a valid event is, and that
//! its tiers cover every seat and place exactly once. No I/O and no async here.

mod event;
mod venue;

pub use contracts::problem::FieldErrors;
pub use event::{EventDraft, EventText, TierDraft, VenueLayout, check_schedule, resolve_tiers};
pub use venue::{NewVenue, text};
