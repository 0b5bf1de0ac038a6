//! Everything SQL of delivery-service: its embedded migrations (in `migrations/`, applied at
//! start) and one function per statement. Rows never leave this module.

pub mod notifications;

refinery::embed_migrations!("migrations");
