//! Integration tests of client-service, against the real services (see `helpers`).

mod gateway;
mod health;
mod helpers;
mod payments;
mod purchases;
mod queueing;
mod status;
