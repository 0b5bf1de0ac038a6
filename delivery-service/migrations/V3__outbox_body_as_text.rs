//! The outbox keeps each message as the text it publishes (see `BODY_AS_TEXT_SQL`).

pub fn migration() -> String {
    common::amqp::outbox::BODY_AS_TEXT_SQL.to_owned()
}
