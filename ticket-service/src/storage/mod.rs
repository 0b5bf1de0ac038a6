//! Everything SQL of ticket-service: its embedded migrations (in `migrations/`, applied at
//! start) and one function per statement. Rows never leave this module.

pub mod tickets;

refinery::embed_migrations!("migrations");
