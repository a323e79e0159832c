-- CLI sign-in (POST /auth/cli, /auth/cli/poll, /auth/cli/complete). The CLI holds the polling
-- code, the browser the login code; both are secrets, so only their SHA-256 is stored and rows
-- are found by hash within their tenancy. No refresh token is stored at all: `complete` records
-- whom the CLI signs in as (user_id), and the one poll that takes the row (used_at, set by a
-- conditional UPDATE) mints the CLI a session of its own. A CLI that starts with an anonymous
-- session names it here (its id, not its token) so that the browser may take that user over.
CREATE TABLE cli_auth_attempts (
    tenancy_id             uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                     uuid NOT NULL,
    polling_code_hash      bytea NOT NULL,
    login_code_hash        bytea NOT NULL,
    anon_refresh_token_id  uuid,
    user_id                uuid,
    completed_at           timestamptz,
    used_at                timestamptz,
    expires_at             timestamptz NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    UNIQUE (tenancy_id, polling_code_hash),
    UNIQUE (tenancy_id, login_code_hash),
    CHECK (used_at IS NULL OR user_id IS NOT NULL),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
-- The cron step deletes attempts that expired an hour ago or more, across tenancies.
CREATE INDEX cli_auth_attempts_expires_at_idx ON cli_auth_attempts (expires_at);
