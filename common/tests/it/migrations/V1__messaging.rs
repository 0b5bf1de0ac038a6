pub fn migration() -> String {
    common::amqp::outbox::SCHEMA_SQL.to_owned()
}
