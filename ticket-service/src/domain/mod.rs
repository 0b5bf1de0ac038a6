//! Pure parts of ticket-service: the signed code on a ticket, and its PDF. No I/O, no async.

pub mod code;
pub mod document;
