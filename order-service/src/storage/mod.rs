//! Everything SQL of order-service: its embedded migrations (in `migrations/`, applied at
//! start) and one function per statement. Rows never leave this module.

pub mod inventory;
pub mod orders;
pub mod payments;

refinery::embed_migrations!("migrations");
