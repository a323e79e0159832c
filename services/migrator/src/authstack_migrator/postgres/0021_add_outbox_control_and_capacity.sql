-- migrate: no-transaction
-- migrate: lock_timeout=10min, statement_timeout=2h
-- Outbox control (PATCH /emails/outbox/{id}) and per-project sending capacity.
--
-- Two more statuses: 'paused' (kept, sent only once resumed) and 'cancelled' (finished, never
-- sent). Neither is among the statuses the worker's claim or the cron step pick up, so a wake-up
-- still in flight for such a row finds nothing to send. The new CHECK is added NOT VALID and then
-- validated, so the table keeps taking writes; the indexes are built CONCURRENTLY for the same
-- reason. Every statement is safe to run again.

-- When a row held back by its project's capacity has a sending slot reserved: the worker sends it
-- at that time without taking another share of the capacity (NULL: no slot reserved).
ALTER TABLE email_outbox ADD COLUMN IF NOT EXISTS capacity_slot_at timestamptz;

ALTER TABLE email_outbox
    DROP CONSTRAINT IF EXISTS email_outbox_status_check,
    ADD CONSTRAINT email_outbox_status_check CHECK (status IN (
        'pending', 'sending', 'retry_scheduled', 'sent', 'failed', 'skipped', 'paused', 'cancelled'
    )) NOT VALID;
ALTER TABLE email_outbox VALIDATE CONSTRAINT email_outbox_status_check;

-- A tenancy's email sending state: its capacity bucket (tokens at refilled_at; negative while
-- sending slots are reserved ahead), its capacity boost, a cached count of the last month's sent
-- mail (the capacity grows with it), and the failed-emails digest's watermark.
CREATE TABLE IF NOT EXISTS email_sending_state (
    tenancy_id          uuid PRIMARY KEY REFERENCES tenancies (id) ON DELETE CASCADE,
    tokens              double precision NOT NULL,
    refilled_at         timestamptz NOT NULL DEFAULT now(),
    boost_expires_at    timestamptz,
    month_sent          integer NOT NULL DEFAULT 0,
    month_counted_at    timestamptz,
    -- The failed-emails digest: failures finished up to digest_through were reported; the last
    -- digest went out at digest_sent_at (at most one per day).
    digest_through      timestamptz,
    digest_sent_at      timestamptz
);

-- Delivery statistics (GET /emails/delivery-info, the capacity's monthly count) and the failed
-- mail of the digest.
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_outbox_sent_idx
    ON email_outbox (tenancy_id, sent_at) WHERE status = 'sent';
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_outbox_failed_idx
    ON email_outbox (finished_at) WHERE status = 'failed';
