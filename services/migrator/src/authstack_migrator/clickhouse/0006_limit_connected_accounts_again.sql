-- migrate: server-only
-- 0005 replaced default.connected_accounts. ClickHouse keeps row policies and grants by table
-- name, so 0004's still cover the new view; these statements change nothing then, and restore
-- them if a server ever tied them to the replaced object instead.
CREATE ROW POLICY IF NOT EXISTS connected_accounts_project_isolation ON default.connected_accounts FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
GRANT SELECT ON default.connected_accounts TO limited_user;
