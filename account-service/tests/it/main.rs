//! Integration tests of account-service, against the real services (see `helpers`).

mod admin;
mod health;
mod helpers;
mod registration;
mod sessions;
mod tokens;
