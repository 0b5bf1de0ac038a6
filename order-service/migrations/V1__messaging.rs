//! The outbox and inbox tables, shared by every service that talks to the broker.

pub fn migration() -> String {
    common::amqp::outbox::SCHEMA_SQL.to_owned()
}
