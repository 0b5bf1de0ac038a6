//! Everything SQL of delivery-service: its embedded migrations (in `migrations/`, applied at start)
//! and, as use cases arrive, one function per statement. Rows never leave this module.

refinery::embed_migrations!("migrations");
