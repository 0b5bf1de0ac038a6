-- Tickets: one per sold place, and who may scan them.

CREATE TABLE tickets (
    ticket_id    uuid PRIMARY KEY,
    order_id     uuid NOT NULL,
    purchase_id  uuid NOT NULL,
    place_id     uuid NOT NULL,
    event_id     uuid NOT NULL,
    -- Whose event it is: they (and staff they name) may scan it.
    organiser_id uuid NOT NULL,
    holder_id    uuid NOT NULL,
    -- What the ticket prints, as it was when issued.
    holder_name  text NOT NULL,
    event_title  text NOT NULL,
    starts_at    timestamptz NOT NULL,
    venue        text NOT NULL,
    place        text NOT NULL,
    tier         text NOT NULL,
    state        text NOT NULL CHECK (state IN ('issuing', 'valid', 'used', 'revoked')),
    document_key text NOT NULL,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    checked_in_at timestamptz,
    checked_in_by uuid,
    revoked_at   timestamptz,
    -- A ticket is issued once: a redelivered order.paid, or two consumers, insert nothing new.
    UNIQUE (order_id, place_id),
    CHECK ((state = 'used') = (checked_in_at IS NOT NULL))
);
-- The holder's tickets, newest first.
CREATE INDEX tickets_holder ON tickets (holder_id, issued_at DESC, ticket_id DESC);
CREATE INDEX tickets_order ON tickets (order_id);

-- Orders refunded: an order.paid that arrives after its order.refunded issues nothing.
CREATE TABLE revoked_orders (
    order_id   uuid PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- People an organiser named to scan tickets of an event at the door.
CREATE TABLE checkin_staff (
    event_id   uuid NOT NULL,
    account_id uuid NOT NULL,
    named_by   uuid NOT NULL,
    named_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, account_id)
);
