//! Integration tests of ticket-service, against the real services (see `helpers`).

mod health;
mod helpers;
mod tickets;
