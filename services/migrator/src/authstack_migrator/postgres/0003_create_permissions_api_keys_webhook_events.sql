-- Project permissions, user and team API keys, and the webhook outbox.
-- Permission *definitions* live in the project's config (rbac.permissions); these tables hold grants.

CREATE TABLE project_user_permissions (
    tenancy_id    uuid NOT NULL,
    user_id       uuid NOT NULL,
    permission_id text NOT NULL CHECK (permission_id ~ '^[a-z0-9_:]+$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, user_id, permission_id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
-- Renaming or deleting a definition touches every grant of that id in the tenancy.
CREATE INDEX project_user_permissions_permission_idx
    ON project_user_permissions (tenancy_id, permission_id);
CREATE INDEX team_member_permissions_permission_idx
    ON team_member_permissions (tenancy_id, permission_id);

-- User and team API keys. Only the SHA-256 of the full key is kept (the key carries 225 random
-- bits, so a fast hash is enough), plus its last four characters for display.
CREATE TABLE project_api_keys (
    tenancy_id          uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    user_id             uuid,
    team_id             uuid,
    description         text NOT NULL,
    is_public           boolean NOT NULL DEFAULT false,
    key_hash            bytea NOT NULL UNIQUE,
    last_four           text NOT NULL,
    expires_at          timestamptz,
    manually_revoked_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    CHECK ((user_id IS NULL) <> (team_id IS NULL)),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenancy_id, team_id) REFERENCES teams (tenancy_id, id) ON DELETE CASCADE
);
CREATE INDEX project_api_keys_user_idx ON project_api_keys (tenancy_id, user_id, created_at)
    WHERE user_id IS NOT NULL;
CREATE INDEX project_api_keys_team_idx ON project_api_keys (tenancy_id, team_id, created_at)
    WHERE team_id IS NOT NULL;

-- Webhook outbox (contract §7.3): one row per event, written in the transaction of the change.
-- The deliverer claims pending rows (FOR UPDATE SKIP LOCKED), sends payload to the project's
-- Svix app with event_id as the idempotency key, and records the outcome.
CREATE TABLE webhook_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    tenancy_id      uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    project_id      text NOT NULL,
    event_type      text NOT NULL CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
    payload         jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempt_count   integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX webhook_events_pending_idx ON webhook_events (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_events_tenancy_idx ON webhook_events (tenancy_id, id);
