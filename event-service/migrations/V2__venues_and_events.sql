-- Venues and their seat maps. Seat ids are generated here once and never change: tickets,
-- orders and the seat map all refer to them.
CREATE TABLE venues (
    id           uuid PRIMARY KEY,
    organiser_id uuid NOT NULL,
    name         text NOT NULL,
    city         text NOT NULL,
    address      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX venues_by_organiser ON venues (organiser_id);

CREATE TABLE venue_sections (
    id       uuid PRIMARY KEY,
    venue_id uuid NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    name     text NOT NULL,
    position integer NOT NULL,
    UNIQUE (venue_id, name)
);

CREATE TABLE venue_seats (
    id          uuid PRIMARY KEY,
    section_id  uuid NOT NULL REFERENCES venue_sections (id) ON DELETE CASCADE,
    row_label   text NOT NULL,
    row_position integer NOT NULL,
    seat_number integer NOT NULL CHECK (seat_number > 0),
    -- "Stalls, row F, seat 12" exists once.
    UNIQUE (section_id, row_label, seat_number)
);

CREATE TABLE venue_areas (
    id       uuid PRIMARY KEY,
    venue_id uuid NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    name     text NOT NULL,
    capacity integer NOT NULL CHECK (capacity > 0),
    position integer NOT NULL,
    UNIQUE (venue_id, name)
);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    organiser_id    uuid NOT NULL,
    venue_id        uuid NOT NULL REFERENCES venues (id),
    title           text NOT NULL,
    description     text NOT NULL,
    category        text NOT NULL,
    starts_at       timestamptz NOT NULL,
    sales_open_at   timestamptz NOT NULL,
    sales_close_at  timestamptz,
    per_buyer_limit integer NOT NULL CHECK (per_buyer_limit > 0),
    status          text NOT NULL CHECK (status IN ('draft', 'published')),
    published_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Title weighs more than description in ranking; 'simple' keeps names and foreign words
    -- searchable without language-specific stemming.
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', category), 'B') ||
        setweight(to_tsvector('simple', description), 'C')
    ) STORED,
    CHECK (sales_open_at < starts_at),
    CHECK (sales_close_at IS NULL OR (sales_close_at > sales_open_at AND sales_close_at <= starts_at)),
    CHECK ((status = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX events_search ON events USING gin (search);
-- The catalog pages published events by date.
CREATE INDEX events_catalog ON events (starts_at, id) WHERE status = 'published';

CREATE TABLE tiers (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name        text NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    position    integer NOT NULL,
    UNIQUE (event_id, name)
);

-- The primary keys make it impossible for one section or area to be in two tiers of an event.
CREATE TABLE tier_sections (
    event_id   uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    section_id uuid NOT NULL REFERENCES venue_sections (id),
    tier_id    uuid NOT NULL REFERENCES tiers (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, section_id)
);

CREATE TABLE tier_areas (
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    area_id  uuid NOT NULL REFERENCES venue_areas (id),
    tier_id  uuid NOT NULL REFERENCES tiers (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, area_id)
);
