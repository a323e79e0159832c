-- The public views admins query (contract §8): `default.<table>`, each reading its table as its
-- definer (limited_user is granted the views, never the tables), the sync tables deduplicated
-- (FINAL) and without tombstones. Row policies on these views (0004) scope them to a project.
CREATE OR REPLACE VIEW default.events SQL SECURITY DEFINER AS
SELECT * FROM analytics_internal.events;

CREATE OR REPLACE VIEW default.users SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, display_name, profile_image_url, primary_email, primary_email_verified, signed_up_at, client_metadata, client_read_only_metadata, server_metadata, is_anonymous, restricted_by_admin, restricted_by_admin_reason, restricted_by_admin_private_details
FROM analytics_internal.users FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.contact_channels SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, user_id, type, value, is_primary, is_verified, used_for_auth, created_at
FROM analytics_internal.contact_channels FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.teams SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, display_name, profile_image_url, created_at, client_metadata, client_read_only_metadata, server_metadata
FROM analytics_internal.teams FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.team_member_profiles SQL SECURITY DEFINER AS
SELECT project_id, branch_id, team_id, user_id, display_name, profile_image_url, created_at
FROM analytics_internal.team_member_profiles FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.team_permissions SQL SECURITY DEFINER AS
SELECT project_id, branch_id, team_id, user_id, id, created_at
FROM analytics_internal.team_permissions FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.team_invitations SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, team_id, recipient_email, expires_at, created_at
FROM analytics_internal.team_invitations FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.email_outboxes SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, status, simple_status, created_with, email_draft_id, email_programmatic_call_template_id, is_high_priority, rendered_is_transactional, rendered_subject, rendered_notification_category_id, scheduled_at, created_at, started_sending_at, finished_sending_at, sent_at, delivered_at, opened_at, clicked_at, unsubscribed_at, marked_as_spam_at, bounced_at, skipped_reason, send_retries, is_paused
FROM analytics_internal.email_outboxes FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.project_permissions SQL SECURITY DEFINER AS
SELECT project_id, branch_id, user_id, id, created_at
FROM analytics_internal.project_permissions FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.notification_preferences SQL SECURITY DEFINER AS
SELECT project_id, branch_id, user_id, notification_category_id, enabled
FROM analytics_internal.notification_preferences FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.refresh_tokens SQL SECURITY DEFINER AS
SELECT project_id, branch_id, id, user_id, created_at, last_used_at, is_impersonation, expires_at
FROM analytics_internal.refresh_tokens FINAL WHERE sync_is_deleted = 0;

CREATE OR REPLACE VIEW default.connected_accounts SQL SECURITY DEFINER AS
SELECT project_id, branch_id, user_id, provider, provider_account_id, created_at
FROM analytics_internal.connected_accounts FINAL WHERE sync_is_deleted = 0;
