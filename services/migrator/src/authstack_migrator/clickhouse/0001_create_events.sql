-- The analytics database and its events (contract §8): one row per event, partitioned by month,
-- ordered for a project's time range. `data` is JSON; who wrote what is in the contract's table.
CREATE DATABASE IF NOT EXISTS analytics_internal;

CREATE TABLE IF NOT EXISTS analytics_internal.events (
    event_type                LowCardinality(String),
    event_at                  DateTime64(3, 'UTC'),
    data                      JSON,
    project_id                String,
    branch_id                 String,
    user_id                   Nullable(String),
    team_id                   Nullable(String),
    refresh_token_id          Nullable(String),
    session_replay_id         Nullable(String),
    session_replay_segment_id Nullable(String),
    created_at                DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_at)
ORDER BY (project_id, branch_id, event_at);

-- Where the external-DB sync (issue 15) records how far each tenancy's mapping has been copied.
CREATE TABLE IF NOT EXISTS analytics_internal._stack_sync_metadata (
    tenancy_id              UUID,
    mapping_name            String,
    last_synced_sequence_id Int64,
    updated_at              DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (tenancy_id, mapping_name);
