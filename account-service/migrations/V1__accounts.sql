-- Accounts and their sessions. Emails are stored normalised (trimmed, lower-cased) by the
-- service, so the plain unique constraint is what makes one email one account, even when two
-- registrations race.
CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email))),
    -- argon2id PHC string; never returned by any query that leaves storage.
    password_hash text NOT NULL,
    name          text NOT NULL CHECK (length(btrim(name)) > 0),
    phone         text CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    role          text NOT NULL CHECK (role IN ('buyer', 'organiser', 'admin')),
    locale        text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'ru')),
    notify_email  boolean NOT NULL DEFAULT true,
    notify_sms    boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Admin listing pages newest first with a (created_at, id) keyset.
CREATE INDEX accounts_by_creation ON accounts (created_at DESC, id DESC);

-- Refresh tokens, stored as SHA-256 only. Each login starts a family (the session); every
-- refresh marks its token used and adds the next one to the family. Presenting a used token
-- again means it was stolen or replayed, and revokes the whole family.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    family_id   uuid NOT NULL,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
