//! Integration tests of event-service, against the real services (see `helpers`).

mod availability;
mod catalog;
mod health;
mod helpers;
mod publishing;
mod venues;
