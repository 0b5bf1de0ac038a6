-- An organiser may cancel a published event: it leaves the catalog and order-service refunds
-- every paid order (event.cancelled). A cancelled event was published first.
ALTER TABLE events DROP CONSTRAINT events_status_check;
ALTER TABLE events ADD CONSTRAINT events_status_check
    CHECK (status IN ('draft', 'published', 'cancelled'));
ALTER TABLE events DROP CONSTRAINT events_check2;
ALTER TABLE events ADD COLUMN cancelled_at timestamptz;
ALTER TABLE events ADD CONSTRAINT events_published_when
    CHECK ((status = 'draft') = (published_at IS NULL));
ALTER TABLE events ADD CONSTRAINT events_cancelled_when
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));
