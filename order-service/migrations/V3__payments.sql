-- Paying holds, refunds and each order's history; and the sandbox payment provider's ledger.

ALTER TABLE orders ADD COLUMN paid_at timestamptz;

-- The states an order went through after it was created (created_at and its first state are
-- on the order): written by payments, expiries, cancellations and refunds, never by the
-- reservation hot path.
CREATE TABLE order_transitions (
    order_id uuid NOT NULL REFERENCES orders,
    state    text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, state, at)
);

-- One row per payment attempt. The attempt exists before the provider is called, so a crash
-- mid-charge leaves a pending row that the provider's webhook (or the recovery sweep) settles.
CREATE TABLE payments (
    payment_id         uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES orders,
    buyer_id           uuid NOT NULL,
    -- Keys are scoped to the caller: the same key from the same buyer is the same request.
    idempotency_key    text NOT NULL,
    -- Hash of what was asked (order and card token): the same key with another body is 422.
    request_fingerprint text NOT NULL,
    amount_minor       bigint NOT NULL CHECK (amount_minor >= 0),
    currency           text NOT NULL,
    -- failed: the provider has no charge for it (never reached, or lost before it charged).
    state              text NOT NULL CHECK (state IN
                           ('pending', 'succeeded', 'declined', 'refunded', 'failed')),
    provider_charge_id text,
    provider_refund_id text,
    -- Why it was declined (the provider's code) or refunded (a RefundReason).
    reason             text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (buyer_id, idempotency_key),
    CHECK ((state IN ('succeeded', 'refunded')) = (provider_charge_id IS NOT NULL))
);
-- Nobody is charged twice: an order has at most one payment that may charge or has charged.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
    WHERE state IN ('pending', 'succeeded');
-- The recovery sweep looks at pending attempts, oldest first.
CREATE INDEX payments_pending ON payments (created_at) WHERE state = 'pending';

-- The sandbox provider's own books. A real processor keeps these on its side; the sandbox
-- keeps them here so that a test or the load test can prove nobody was charged twice.
CREATE TABLE sandbox_charges (
    charge_id       text PRIMARY KEY,
    -- The merchant's idempotency key: a retried charge returns the first one.
    idempotency_key text NOT NULL UNIQUE,
    amount_minor    bigint NOT NULL,
    currency        text NOT NULL,
    card_token      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('succeeded', 'declined')),
    decline_reason  text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_refunds (
    refund_id       text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    -- A charge is refunded once, in full.
    charge_id       text NOT NULL UNIQUE REFERENCES sandbox_charges,
    amount_minor    bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
