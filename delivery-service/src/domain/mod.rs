//! Pure parts of delivery-service: what each message tells the buyer, and when to retry.
//! No I/O, no async.

pub mod notice;
pub mod retry;
