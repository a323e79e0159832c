-- The email outbox and per-project email templates.
--
-- Every email is first a row in email_outbox, written in the same transaction as the action that
-- causes it; Redis only carries wake-ups holding the row id. The worker claims a row by moving it to
-- 'sending' under a lease, sends, and records the outcome, so a redelivered wake-up finds nothing to
-- do. The cron step re-enqueues rows whose wake-up was lost and rows whose lease ran out.

CREATE TABLE email_outbox (
    id                uuid PRIMARY KEY,
    tenancy_id        uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    -- A built-in template type (email_verification, password_reset, ...), 'custom_html' for
    -- send-email's literal HTML, or the id of one of the project's own templates.
    template          text NOT NULL,
    -- Recipient: a user (their primary email, resolved when sending) or an explicit address.
    to_user_id        uuid,
    to_email          text,
    -- Variables (links carry live verification codes) and literal content, as JSON sealed with
    -- AES-256-GCM under a key derived from STACK_SERVER_SECRET; cleared once the row is finished.
    content_sealed    bytea,
    is_high_priority  boolean NOT NULL DEFAULT false,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'retry_scheduled', 'sent', 'failed', 'skipped')),
    scheduled_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    attempt_count     integer NOT NULL DEFAULT 0,
    lease_expires_at  timestamptz,
    -- When the last wake-up message sent for this row is due at a worker (NULL: none in flight).
    wakeup_due_at     timestamptz,
    -- What happened, in words an operator can act on.
    recipient         text,
    subject           text,
    smtp_response     text,
    error             text,
    skipped_reason    text,
    sent_at           timestamptz,
    finished_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (to_user_id IS NOT NULL OR to_email IS NOT NULL),
    CHECK ((status = 'sending') = (lease_expires_at IS NOT NULL))
);
-- The cron step's two scans, and the admin listing (newest first).
CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at)
    WHERE status IN ('pending', 'retry_scheduled');
CREATE INDEX email_outbox_lease_idx ON email_outbox (lease_expires_at) WHERE status = 'sending';
CREATE INDEX email_outbox_listing_idx ON email_outbox (tenancy_id, created_at DESC, id DESC);

-- A project's overrides of the built-in templates (id = the template type) and its own templates
-- (id = a uuid), as sandboxed Jinja2 sources.
CREATE TABLE email_templates (
    tenancy_id    uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id            text NOT NULL CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
    display_name  text NOT NULL,
    subject       text NOT NULL,
    html          text NOT NULL,
    text          text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id)
);
