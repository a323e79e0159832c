-- migrate: no-transaction
-- migrate: lock_timeout=5s
-- Webhook delivery (contract §7.3): the endpoints a project delivers to itself (the built-in
-- mode; with STACK_SVIX_API_KEY set, Svix keeps them), one delivery per event and endpoint, and
-- every attempt made.
--
-- An event's life: queued (written in the transaction of the change) -> dispatched (the worker
-- made its deliveries: one per matching endpoint, or one to the project's Svix application).
-- Events recorded before this migration keep the status 'pending': nothing ever read them, and
-- sending months-old changes to endpoints added now would surprise every receiver, so they stay
-- as they are and are never delivered. Changing the default is instant (no row is rewritten).
--
-- No transaction: webhook_events may be large, and the index on it is built CONCURRENTLY so that
-- writes (every user and team change) go on meanwhile. So every statement can run again.
ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_status_check;
ALTER TABLE webhook_events ALTER COLUMN status SET DEFAULT 'queued';
-- NOT VALID: checked for every row written from now on without scanning the table under a lock;
-- the rows already there were checked against a narrower list ('pending' is the only value
-- anything ever wrote).
DO $$
BEGIN
    ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_status_known
        CHECK (status IN ('pending', 'queued', 'dispatched')) NOT VALID;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;
-- Attempts and retries are per delivery now; these per-event columns were never written.
ALTER TABLE webhook_events
    DROP COLUMN IF EXISTS attempt_count,
    DROP COLUMN IF EXISTS next_attempt_at,
    DROP COLUMN IF EXISTS last_error,
    DROP COLUMN IF EXISTS sent_at;
ALTER TABLE webhook_events ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;
-- The worker's fan-out (a project's queued events in order) and the cron step's scan.
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_events_queued_idx
    ON webhook_events (tenancy_id, id) WHERE status = 'queued';

-- A project's own endpoints. The signing secret (whsec_ + base64 of 24 random bytes) must be
-- usable to sign, so it is kept sealed (AES-256-GCM under a key derived from
-- STACK_SERVER_SECRET, bound to the endpoint id), never in clear. event_types NULL: every type.
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    tenancy_id     uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    url            text NOT NULL,
    description    text NOT NULL DEFAULT '',
    event_types    text[],
    disabled       boolean NOT NULL DEFAULT false,
    secret_sealed  bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id)
);

-- One event to one endpoint. A project's deliveries to one endpoint form a lane, sent in id order
-- (the order the events were dispatched) by one worker at a time. endpoint_id is the nil UUID for
-- the lane to the project's Svix application. attempt_count is bumped when a worker claims the
-- row, so a message that kills workers still runs out of attempts.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenancy_id        uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    event_id          uuid NOT NULL REFERENCES webhook_events (event_id) ON DELETE CASCADE,
    endpoint_id       uuid NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    attempt_count     integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    claimed_at        timestamptz,
    last_status_code  integer,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    UNIQUE (event_id, endpoint_id),
    CHECK ((status = 'sending') = (claimed_at IS NOT NULL))
);
-- A lane's open deliveries in order, and the cron step's scan for overdue ones.
CREATE INDEX IF NOT EXISTS webhook_deliveries_lane_idx
    ON webhook_deliveries (tenancy_id, endpoint_id, id) WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_idx
    ON webhook_deliveries (tenancy_id, endpoint_id);

-- Every attempt: 'pending' while a worker is sending it (left so if the worker died: the next
-- worker on the lane records it as failed), then 'succeeded' or 'failed'.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenancy_id            uuid NOT NULL,
    delivery_id           bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id           uuid NOT NULL,
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'succeeded', 'failed')),
    response_status_code  integer,
    error                 text,
    attempted_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_attempts_listing_idx
    ON webhook_attempts (tenancy_id, endpoint_id, id DESC);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);
