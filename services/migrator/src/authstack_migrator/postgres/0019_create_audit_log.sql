-- The audit log: who did what to a project, written in the same transaction as the action
-- (impersonation starts, config and project changes, key sets, user deletions and
-- restrictions). Rows belong to the tenancy acted on; nothing references the actor or the
-- target, so a row outlives a deleted user or admin. Details never hold secrets.
CREATE TABLE audit_log (
    tenancy_id        uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                uuid NOT NULL,
    -- clock_timestamp(): rows written by one transaction keep the order they were written in.
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    action            text NOT NULL CHECK (length(action) <= 64),
    actor_type        text NOT NULL
        CHECK (actor_type IN ('admin_user', 'server_key', 'admin_key', 'client_user')),
    actor_user_id     uuid,
    actor_ip          text CHECK (length(actor_ip) <= 64),
    actor_user_agent  text CHECK (length(actor_user_agent) <= 512),
    target_type       text NOT NULL CHECK (length(target_type) <= 64),
    target_id         text CHECK (length(target_id) <= 128),
    details           jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenancy_id, id)
);
-- GET /internal/audit-log: newest first (keyset on created_at, id), optionally by action, target
-- user or acting user.
CREATE INDEX audit_log_recent_idx ON audit_log (tenancy_id, created_at DESC, id DESC);
CREATE INDEX audit_log_target_idx
    ON audit_log (tenancy_id, target_type, target_id, created_at DESC, id DESC);
CREATE INDEX audit_log_actor_idx
    ON audit_log (tenancy_id, actor_user_id, created_at DESC, id DESC)
    WHERE actor_user_id IS NOT NULL;
