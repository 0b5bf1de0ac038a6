//! Pure types and rules of order-service: no I/O, no async.

pub mod payment;
