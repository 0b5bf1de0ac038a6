-- An event its organiser cancelled: no sale from then on, whatever the request's time, and
-- every order of it released or refunded.
ALTER TABLE events ADD COLUMN cancelled_at timestamptz;
