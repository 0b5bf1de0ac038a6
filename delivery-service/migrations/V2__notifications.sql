-- The delivery log: one row per notification and channel, written before anything is sent.

CREATE TABLE notifications (
    notification_id uuid PRIMARY KEY,
    -- The domain event it tells of: '<message type>:<order id>'. With the channel, unique:
    -- a redelivered message, a second instance or a re-sent event writes nothing new, so
    -- nothing is sent twice.
    notification_key text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    account_id      uuid NOT NULL,
    kind            text NOT NULL,
    locale          text NOT NULL,
    -- An email address or a phone number; NULL when skipped for want of one.
    recipient       text,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text,
    -- pending: to send (at next_attempt_at); skipped: nothing to send it to, or the channel
    -- is off, never retried; failed: given up (attempts spent, or a permanent error).
    state           text NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    -- The message it came from, dead-lettered when the notification fails.
    source_message  jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (notification_key, channel)
);
-- The sender reads only pending notifications that are due.
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
-- A buyer's history, newest first.
CREATE INDEX notifications_account ON notifications (account_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_failed ON notifications (created_at) WHERE state = 'failed';
