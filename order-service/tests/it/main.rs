//! Integration tests of order-service, against the real services (see `helpers`).

mod health;
mod helpers;
mod reservations;
