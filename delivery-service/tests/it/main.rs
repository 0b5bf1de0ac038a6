//! Integration tests of delivery-service, against the real services (see `helpers`).

mod health;
mod helpers;
mod notifications;
