-- connected_accounts as 0002 made it had no `id` and was ordered by (user_id, provider,
-- provider_account_id); a ReplacingMergeTree keeps one copy per ORDER BY key, and the sync's
-- tombstones carry the source row's key, which is its id. So the table is keyed by id like every
-- other sync table. Nothing wrote to it before this file (the sync that fills it came with it),
-- so it is made anew rather than altered: a sorting key cannot be changed to a new column.
DROP TABLE IF EXISTS analytics_internal.connected_accounts;

CREATE TABLE IF NOT EXISTS analytics_internal.connected_accounts (
    project_id String, branch_id String, id UUID, user_id UUID,
    provider String, provider_account_id String,
    created_at DateTime64(3, 'UTC'),
    sync_sequence_id Int64, sync_is_deleted UInt8,
    sync_created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(sync_sequence_id)
ORDER BY (project_id, branch_id, id);

-- Same name, so 0004's row policy and grant (kept by name on a server) still apply; 0006
-- asserts them again in case they did not.
CREATE OR REPLACE VIEW default.connected_accounts SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, user_id, provider, provider_account_id, created_at
FROM analytics_internal.connected_accounts FINAL WHERE sync_is_deleted = 0;
