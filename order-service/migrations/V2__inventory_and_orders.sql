-- The inventory of published events (built from event.published) and the orders that claim it.
-- order-service is the only writer of seat state.

CREATE TABLE events (
    event_id        uuid PRIMARY KEY,
    organiser_id    uuid NOT NULL,
    sales_open_at   timestamptz NOT NULL,
    sales_close_at  timestamptz,
    per_buyer_limit integer NOT NULL CHECK (per_buyer_limit > 0),
    published_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tiers (
    tier_id     uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL
);
CREATE INDEX tiers_event ON tiers (event_id);

-- One row per seat (place_id is the venue's seat id) and one per general-admission place.
-- A place is available, or claimed by exactly the order in order_id.
CREATE TABLE places (
    event_id  uuid NOT NULL REFERENCES events,
    place_id  uuid NOT NULL,
    tier_id   uuid NOT NULL REFERENCES tiers,
    area_id   uuid,
    -- Seats in venue order (section, row, number): neighbours in a row are neighbours here.
    position  integer NOT NULL,
    state     text NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'held', 'sold')),
    order_id  uuid,
    PRIMARY KEY (event_id, place_id),
    CHECK ((state = 'available') = (order_id IS NULL))
);
-- Best-available reads the first free places of a tier in venue order.
CREATE INDEX places_available ON places (event_id, tier_id, position) WHERE state = 'available';

CREATE TABLE orders (
    order_id        uuid PRIMARY KEY,
    -- One order per purchase: a redelivered purchase.requested finds its order here.
    purchase_id     uuid NOT NULL UNIQUE,
    event_id        uuid NOT NULL REFERENCES events,
    buyer_id        uuid NOT NULL,
    state           text NOT NULL CHECK (state IN
                        ('reserved', 'rejected', 'paid', 'ticketed', 'expired', 'cancelled', 'refunded')),
    reason          text,
    quantity        integer NOT NULL CHECK (quantity >= 0),
    amount_minor    bigint NOT NULL DEFAULT 0,
    currency        text,
    hold_expires_at timestamptz,
    requested_at    timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC);
-- The hold sweeper reads only live holds, oldest first.
CREATE INDEX orders_holds ON orders (hold_expires_at) WHERE state = 'reserved';

-- Which places each order claimed. The partial unique index is the last line of defence:
-- whatever the code above does, one place can be in one active order only.
CREATE TABLE order_places (
    order_id    uuid NOT NULL REFERENCES orders,
    event_id    uuid NOT NULL,
    place_id    uuid NOT NULL,
    tier_id     uuid NOT NULL,
    price_minor bigint NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (order_id, place_id),
    FOREIGN KEY (event_id, place_id) REFERENCES places
);
CREATE UNIQUE INDEX order_places_one_active_claim ON order_places (event_id, place_id) WHERE active;

-- Places each buyer holds or owns per event; its row lock serialises one buyer's purchases,
-- and the check keeps the per-buyer limit in the database too.
CREATE TABLE buyer_places (
    event_id uuid NOT NULL REFERENCES events,
    buyer_id uuid NOT NULL,
    places   integer NOT NULL CHECK (places >= 0),
    PRIMARY KEY (event_id, buyer_id)
);
