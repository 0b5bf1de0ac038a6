//! Everything account-service keeps: accounts and refresh tokens in Postgres (one function per
//! statement; rows never leave this module), login failure counters in Redis, and the
//! embedded migrations in `migrations/`.

pub mod accounts;
pub mod login_attempts;
pub mod sessions;

refinery::embed_migrations!("migrations");
