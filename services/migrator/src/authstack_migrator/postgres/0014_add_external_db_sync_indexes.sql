-- migrate: no-transaction
-- migrate: lock_timeout=10min, statement_timeout=2h
-- The external database sync's indexes (see 0013), built CONCURRENTLY so that the synced tables,
-- some of them large, take writes the whole time; hence no transaction, and every statement is
-- safe to run again. Per table: (tenancy_id, sync_sequence_id) serves the sync engine's "rows of
-- this tenancy numbered after N" and the status lag; the partial index on the unnumbered rows
-- serves the sequencer's scan and the status's pending count. Right after 0013 every existing
-- row is unnumbered, so the partial index starts as large as the table and shrinks as the
-- sequencer catches up.

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_sync_sequence_idx
    ON users (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_sync_unsequenced_idx
    ON users (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_channels_sync_sequence_idx
    ON contact_channels (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_channels_sync_unsequenced_idx
    ON contact_channels (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS teams_sync_sequence_idx
    ON teams (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS teams_sync_unsequenced_idx
    ON teams (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS team_members_sync_sequence_idx
    ON team_members (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS team_members_sync_unsequenced_idx
    ON team_members (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS team_member_permissions_sync_sequence_idx
    ON team_member_permissions (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS team_member_permissions_sync_unsequenced_idx
    ON team_member_permissions (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_outbox_sync_sequence_idx
    ON email_outbox (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_outbox_sync_unsequenced_idx
    ON email_outbox (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS project_user_permissions_sync_sequence_idx
    ON project_user_permissions (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS project_user_permissions_sync_unsequenced_idx
    ON project_user_permissions (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_sync_sequence_idx
    ON refresh_tokens (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_sync_unsequenced_idx
    ON refresh_tokens (tenancy_id) WHERE sync_sequence_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_accounts_sync_sequence_idx
    ON oauth_accounts (tenancy_id, sync_sequence_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS oauth_accounts_sync_unsequenced_idx
    ON oauth_accounts (tenancy_id) WHERE sync_sequence_id IS NULL;
-- Only team invitations are synced from verification_codes (by project and branch: the table
-- has no tenancy_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_codes_sync_sequence_idx
    ON verification_codes (project_id, branch_id, sync_sequence_id) WHERE type = 'TEAM_INVITATION';
CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_codes_sync_unsequenced_idx
    ON verification_codes (project_id, branch_id)
    WHERE sync_sequence_id IS NULL AND type = 'TEAM_INVITATION';
