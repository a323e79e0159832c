-- migrate: no-transaction
-- migrate: lock_timeout=10min, statement_timeout=2h
-- The indexes POST /internal/prune-expired walks to find rows long past their expiry (see
-- authstack_core.domain.prune), for the two tables that had none on expires_at: refresh_tokens
-- (only the tokens that expire at all: a NULL expiry is never pruned) and verification_codes.
-- oauth_outer_infos and oauth_authorization_codes have (tenancy_id, expires_at) since 0011 and
-- stay small (each new flow or code clears its project's stale ones); cli_auth_attempts has
-- (expires_at) since 0018.
--
-- Built CONCURRENTLY: both tables take writes the whole time (every sign-in, refresh and emailed
-- code), however long the build. That rules out a transaction, so every statement is safe to run
-- again; the limits are generous because a concurrent build blocks nobody while it waits or works.
CREATE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_expires_at_idx
    ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_codes_expires_at_idx
    ON verification_codes (expires_at);
