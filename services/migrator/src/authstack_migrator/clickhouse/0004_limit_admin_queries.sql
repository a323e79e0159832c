-- migrate: server-only
-- Admin SQL runs as limited_user (created, with STACK_CLICKHOUSE_EXTERNAL_PASSWORD, before the
-- files run). It may read the public views only, and of each view only the rows of the project
-- and branch its query names in the SQL_project_id / SQL_branch_id settings (contract §8).
-- The embedded engine refuses users and row policies: there, isolation comes from running each
-- admin query in a sandbox process that holds only the project's rows (analytics.sandbox).
CREATE ROW POLICY IF NOT EXISTS events_project_isolation ON default.events FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS users_project_isolation ON default.users FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS contact_channels_project_isolation ON default.contact_channels FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS teams_project_isolation ON default.teams FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS team_member_profiles_project_isolation ON default.team_member_profiles FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS team_permissions_project_isolation ON default.team_permissions FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS team_invitations_project_isolation ON default.team_invitations FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS email_outboxes_project_isolation ON default.email_outboxes FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS project_permissions_project_isolation ON default.project_permissions FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS notification_preferences_project_isolation ON default.notification_preferences FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS refresh_tokens_project_isolation ON default.refresh_tokens FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
CREATE ROW POLICY IF NOT EXISTS connected_accounts_project_isolation ON default.connected_accounts FOR SELECT
    USING project_id = getSetting('SQL_project_id') AND branch_id = getSetting('SQL_branch_id')
    TO limited_user;
REVOKE ALL PRIVILEGES ON *.* FROM limited_user;
GRANT SELECT ON default.events TO limited_user;
GRANT SELECT ON default.users TO limited_user;
GRANT SELECT ON default.contact_channels TO limited_user;
GRANT SELECT ON default.teams TO limited_user;
GRANT SELECT ON default.team_member_profiles TO limited_user;
GRANT SELECT ON default.team_permissions TO limited_user;
GRANT SELECT ON default.team_invitations TO limited_user;
GRANT SELECT ON default.email_outboxes TO limited_user;
GRANT SELECT ON default.project_permissions TO limited_user;
GRANT SELECT ON default.notification_preferences TO limited_user;
GRANT SELECT ON default.refresh_tokens TO limited_user;
GRANT SELECT ON default.connected_accounts TO limited_user;
