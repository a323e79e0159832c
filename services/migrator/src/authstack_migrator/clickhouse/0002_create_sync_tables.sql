-- The tables the external-DB sync fills (contract §7.2 and §8): one per mapping, each a
-- ReplacingMergeTree on sync_sequence_id (the newest copy of a row wins) with a tombstone flag.
-- Metadata columns hold JSON text.
CREATE TABLE IF NOT EXISTS analytics_internal.users (
    project_id String, branch_id String, id UUID,
    display_name Nullable(String), profile_image_url Nullable(String),
    primary_email Nullable(String), primary_email_verified UInt8,
    signed_up_at DateTime64(3, 'UTC'),
    client_metadata String, client_read_only_metadata String, server_metadata String,
    is_anonymous UInt8,
    restricted_by_admin UInt8, restricted_by_admin_reason Nullable(String),
    restricted_by_admin_private_details Nullable(String),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.contact_channels (
    project_id String, branch_id String, id UUID, user_id UUID,
    type LowCardinality(String), value String,
    is_primary UInt8, is_verified UInt8, used_for_auth UInt8,
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.teams (
    project_id String, branch_id String, id UUID,
    display_name String, profile_image_url Nullable(String),
    created_at DateTime64(3, 'UTC'),
    client_metadata String, client_read_only_metadata String, server_metadata String,
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.team_member_profiles (
    project_id String, branch_id String, team_id UUID, user_id UUID,
    display_name Nullable(String), profile_image_url Nullable(String),
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, team_id, user_id);

CREATE TABLE IF NOT EXISTS analytics_internal.team_permissions (
    project_id String, branch_id String, team_id UUID, user_id UUID, id String,
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, team_id, user_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.team_invitations (
    project_id String, branch_id String, id UUID, team_id UUID,
    recipient_email String, expires_at DateTime64(3, 'UTC'),
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.email_outboxes (
    project_id String, branch_id String, id UUID,
    status LowCardinality(String), simple_status LowCardinality(String),
    created_with LowCardinality(String),
    email_draft_id Nullable(String), email_programmatic_call_template_id Nullable(String),
    is_high_priority UInt8,
    rendered_is_transactional Nullable(UInt8), rendered_subject Nullable(String),
    rendered_notification_category_id Nullable(String),
    scheduled_at DateTime64(3, 'UTC'), created_at DateTime64(3, 'UTC'),
    started_sending_at Nullable(DateTime64(3, 'UTC')),
    finished_sending_at Nullable(DateTime64(3, 'UTC')),
    sent_at Nullable(DateTime64(3, 'UTC')), delivered_at Nullable(DateTime64(3, 'UTC')),
    opened_at Nullable(DateTime64(3, 'UTC')), clicked_at Nullable(DateTime64(3, 'UTC')),
    unsubscribed_at Nullable(DateTime64(3, 'UTC')),
    marked_as_spam_at Nullable(DateTime64(3, 'UTC')), bounced_at Nullable(DateTime64(3, 'UTC')),
    skipped_reason LowCardinality(Nullable(String)),
    send_retries Int32, is_paused UInt8,
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.project_permissions (
    project_id String, branch_id String, user_id UUID, id String,
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, user_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.notification_preferences (
    project_id String, branch_id String, user_id UUID,
    notification_category_id String, enabled UInt8,
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, user_id, notification_category_id);

CREATE TABLE IF NOT EXISTS analytics_internal.refresh_tokens (
    project_id String, branch_id String, id UUID, user_id UUID,
    created_at DateTime64(3, 'UTC'), last_used_at Nullable(DateTime64(3, 'UTC')),
    is_impersonation UInt8, expires_at Nullable(DateTime64(3, 'UTC')),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

CREATE TABLE IF NOT EXISTS analytics_internal.connected_accounts (
    project_id String, branch_id String, user_id UUID,
    provider String, provider_account_id String,
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, user_id, provider, provider_account_id);
