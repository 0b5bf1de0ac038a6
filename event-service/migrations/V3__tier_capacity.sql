-- A tier's capacity (its seats plus its general-admission places) is fixed when its tiers are
-- written and frozen once the event is published, so it is stored then rather than counted
-- over venue_seats on every catalog and availability read.
ALTER TABLE tiers ADD COLUMN capacity bigint NOT NULL DEFAULT 0 CHECK (capacity >= 0);

UPDATE tiers t SET capacity =
      (SELECT count(*) FROM tier_sections ts
         JOIN venue_seats s ON s.section_id = ts.section_id WHERE ts.tier_id = t.id)
    + (SELECT COALESCE(sum(a.capacity), 0) FROM tier_areas ta
         JOIN venue_areas a ON a.id = ta.area_id WHERE ta.tier_id = t.id);

ALTER TABLE tiers ALTER COLUMN capacity DROP DEFAULT;
