-- migrate: lock_timeout=5s
-- External database sync (contract §7.2), change capture. Every synced source table gets a
-- sync_sequence_id: a trigger sets it to NULL ("changed, not yet numbered") on every insert and
-- update in the writing transaction, so no write path can skip it; every delete leaves a
-- tombstone, also unnumbered. The sequencer (cron) later numbers committed changes with
-- nextval('global_seq_id'), one sequencer at a time, so ids are committed in id order. It sets
-- authstack.sync_sequencing = 'on' for its own transaction so that its numbering is not undone by
-- the trigger.
--
-- Every statement here is brief on a big table: a nullable column without a default is added
-- without rewriting the table, and creating a trigger only takes a short lock. lock_timeout makes
-- the file give up (and the next run retry) rather than queue requests behind a lock. The indexes
-- are built CONCURRENTLY in 0014. Rows that exist already start unnumbered, so a target's first
-- sync copies everything.
--
-- team_invitations come from verification_codes rows of type TEAM_INVITATION. That table is keyed
-- by (project_id, branch_id) rather than a tenancy; its triggers and the sequencer look the
-- tenancy up in tenancies. Its other rows keep sync_sequence_id NULL and are never numbered.

CREATE SEQUENCE global_seq_id AS bigint;

ALTER TABLE users ADD COLUMN sync_sequence_id bigint;
ALTER TABLE contact_channels ADD COLUMN sync_sequence_id bigint;
ALTER TABLE teams ADD COLUMN sync_sequence_id bigint;
ALTER TABLE team_members ADD COLUMN sync_sequence_id bigint;
ALTER TABLE team_member_permissions ADD COLUMN sync_sequence_id bigint;
ALTER TABLE verification_codes ADD COLUMN sync_sequence_id bigint;
ALTER TABLE email_outbox ADD COLUMN sync_sequence_id bigint;
ALTER TABLE project_user_permissions ADD COLUMN sync_sequence_id bigint;
ALTER TABLE refresh_tokens ADD COLUMN sync_sequence_id bigint;
ALTER TABLE oauth_accounts ADD COLUMN sync_sequence_id bigint;

-- Deleted rows, by the key the target stores them under (row_key: {"id": ...} or, for the tables
-- keyed by several ids, {"team_id": ..., "user_id": ...} and so on; never tenancy_id).
CREATE TABLE sync_tombstones (
    id               bigserial PRIMARY KEY,
    tenancy_id       uuid NOT NULL,
    mapping          text NOT NULL,
    row_key          jsonb NOT NULL,
    sync_sequence_id bigint,
    deleted_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_tombstones_sequence_idx ON sync_tombstones (tenancy_id, mapping, sync_sequence_id);
CREATE INDEX sync_tombstones_unsequenced_idx ON sync_tombstones (id) WHERE sync_sequence_id IS NULL;

-- A write marks its row changed, unless it is the sequencer numbering it. An UPDATE that changes
-- nothing keeps the row's number: there is nothing new to send.
CREATE FUNCTION sync_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('authstack.sync_sequencing', true) IS DISTINCT FROM 'on'
       AND (TG_OP = 'INSERT' OR NEW IS DISTINCT FROM OLD) THEN
        NEW.sync_sequence_id := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- TG_ARGV[0] is the mapping, the rest the key columns of row_key. A row deleted together with its
-- tenancy (a project or branch deleted) leaves no tombstone: that tenancy's config, and with it
-- every target, is gone too.
CREATE FUNCTION sync_record_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD);
    row_key jsonb := '{}'::jsonb;
    i integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenancies WHERE id = OLD.tenancy_id) THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        row_key := row_key || jsonb_build_object(TG_ARGV[i], old_row -> TG_ARGV[i]);
    END LOOP;
    INSERT INTO sync_tombstones (tenancy_id, mapping, row_key)
    VALUES (OLD.tenancy_id, TG_ARGV[0], row_key);
    RETURN NULL;
END
$$;

CREATE FUNCTION sync_record_invitation_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_tombstones (tenancy_id, mapping, row_key)
    SELECT t.id, 'team_invitations', jsonb_build_object('id', OLD.id)
    FROM tenancies t
    WHERE t.project_id = OLD.project_id AND t.branch_id = OLD.branch_id;
    RETURN NULL;
END
$$;

-- A user's primary email and its verified flag are columns of the users mapping but live on
-- contact_channels: a change to a primary channel (or a channel becoming or ceasing to be primary)
-- marks its user changed too. Only when the user is numbered already, so that a user row marked
-- changed in this transaction or another is not locked again.
CREATE FUNCTION sync_mark_channel_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('authstack.sync_sequencing', true) IS NOT DISTINCT FROM 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE users SET sync_sequence_id = NULL
        WHERE tenancy_id = OLD.tenancy_id AND id = OLD.user_id AND sync_sequence_id IS NOT NULL;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
        UPDATE users SET sync_sequence_id = NULL
        WHERE tenancy_id = NEW.tenancy_id AND id = NEW.user_id AND sync_sequence_id IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_sync_mark BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER users_sync_tombstone AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('users', 'id');

CREATE TRIGGER contact_channels_sync_mark BEFORE INSERT OR UPDATE ON contact_channels
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER contact_channels_sync_tombstone AFTER DELETE ON contact_channels
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('contact_channels', 'id');

CREATE TRIGGER contact_channels_sync_owner_insert AFTER INSERT ON contact_channels
    FOR EACH ROW WHEN (NEW.is_primary) EXECUTE FUNCTION sync_mark_channel_owner();
CREATE TRIGGER contact_channels_sync_owner_update AFTER UPDATE ON contact_channels
    FOR EACH ROW WHEN ((OLD.is_primary OR NEW.is_primary)
                       AND (OLD.user_id, OLD.value, OLD.is_primary, OLD.is_verified)
                           IS DISTINCT FROM (NEW.user_id, NEW.value, NEW.is_primary, NEW.is_verified))
    EXECUTE FUNCTION sync_mark_channel_owner();
CREATE TRIGGER contact_channels_sync_owner_delete AFTER DELETE ON contact_channels
    FOR EACH ROW WHEN (OLD.is_primary) EXECUTE FUNCTION sync_mark_channel_owner();

CREATE TRIGGER teams_sync_mark BEFORE INSERT OR UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER teams_sync_tombstone AFTER DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('teams', 'id');

CREATE TRIGGER team_members_sync_mark BEFORE INSERT OR UPDATE ON team_members
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER team_members_sync_tombstone AFTER DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('team_member_profiles', 'team_id', 'user_id');

CREATE TRIGGER team_member_permissions_sync_mark BEFORE INSERT OR UPDATE ON team_member_permissions
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER team_member_permissions_sync_tombstone AFTER DELETE ON team_member_permissions
    FOR EACH ROW EXECUTE FUNCTION
        sync_record_tombstone('team_permissions', 'team_id', 'user_id', 'permission_id');

CREATE TRIGGER verification_codes_sync_mark BEFORE INSERT OR UPDATE ON verification_codes
    FOR EACH ROW WHEN (NEW.type = 'TEAM_INVITATION') EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER verification_codes_sync_tombstone AFTER DELETE ON verification_codes
    FOR EACH ROW WHEN (OLD.type = 'TEAM_INVITATION')
    EXECUTE FUNCTION sync_record_invitation_tombstone();

CREATE TRIGGER email_outbox_sync_mark BEFORE INSERT OR UPDATE ON email_outbox
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER email_outbox_sync_tombstone AFTER DELETE ON email_outbox
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('email_outboxes', 'id');

CREATE TRIGGER project_user_permissions_sync_mark BEFORE INSERT OR UPDATE ON project_user_permissions
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER project_user_permissions_sync_tombstone AFTER DELETE ON project_user_permissions
    FOR EACH ROW EXECUTE FUNCTION
        sync_record_tombstone('project_permissions', 'user_id', 'permission_id');

CREATE TRIGGER refresh_tokens_sync_mark BEFORE INSERT OR UPDATE ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER refresh_tokens_sync_tombstone AFTER DELETE ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('refresh_tokens', 'id');

CREATE TRIGGER oauth_accounts_sync_mark BEFORE INSERT OR UPDATE ON oauth_accounts
    FOR EACH ROW EXECUTE FUNCTION sync_mark_changed();
CREATE TRIGGER oauth_accounts_sync_tombstone AFTER DELETE ON oauth_accounts
    FOR EACH ROW EXECUTE FUNCTION sync_record_tombstone('connected_accounts', 'id');

-- One pending sync request per tenancy: the primary key deduplicates. The poller claims a request
-- (claimed_at), hands it to the worker and deletes it; a claim older than 5 minutes is taken again.
CREATE TABLE external_db_sync_requests (
    tenancy_id   uuid PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz
);

-- The operator's switches: pause numbering and/or handing requests to the worker.
CREATE TABLE external_db_sync_fusebox (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    sequencer_enabled boolean NOT NULL DEFAULT true,
    poller_enabled    boolean NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO external_db_sync_fusebox (id) VALUES (true);

-- What the sync engine last did per target and mapping, for /internal/external-db-sync/status.
-- The target's own _stack_sync_metadata stays the source of truth for what it holds.
CREATE TABLE external_db_sync_status (
    tenancy_id              uuid NOT NULL,
    target_id               text NOT NULL,
    mapping                 text NOT NULL,
    last_synced_sequence_id bigint,
    last_error              text,
    last_error_at           timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, target_id, mapping)
);
