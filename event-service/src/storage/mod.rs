//! Everything SQL of event-service: venues and seat maps, events and tiers (one function per
//! statement; rows never leave this module), and its embedded migrations (`migrations/`).

pub mod events;
pub mod venues;

refinery::embed_migrations!("migrations");
