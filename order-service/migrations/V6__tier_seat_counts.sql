-- How many of a tier's places are seats (places without an area), fixed when the event is
-- published: the reconciler learns how many seats are held or sold from the free ones, which
-- `places_available` lists, instead of reading every place of the event at every pass.
ALTER TABLE tiers ADD COLUMN seats integer NOT NULL DEFAULT 0 CHECK (seats >= 0);
UPDATE tiers t SET seats = (
    SELECT count(*) FROM places p
    WHERE p.event_id = t.event_id AND p.tier_id = t.tier_id AND p.area_id IS NULL
);
ALTER TABLE tiers ALTER COLUMN seats DROP DEFAULT;
