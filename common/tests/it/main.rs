//! Integration tests of the shared platform against the real Postgres, Redis, RabbitMQ and S3,
//! each test isolated by a `TestContext`.

mod auth;
mod availability;
mod broker;
mod http;
mod outbox;
mod postgres;
mod s3;
mod shutdown;

refinery::embed_migrations!("tests/it/migrations");
