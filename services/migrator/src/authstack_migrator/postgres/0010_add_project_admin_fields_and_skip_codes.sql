-- migrate: lock_timeout=5s
-- Skipped emails record upstream's reason codes (EmailOutboxSkippedReason) from now on; rows
-- skipped before recorded the reason in words. Only finished rows carry one and no worker writes
-- them again, so rewriting them races with nothing. This runs first so that the projects lock
-- below is held only from its ALTER to the commit.
UPDATE email_outbox SET skipped_reason = CASE skipped_reason
        WHEN 'the recipient user no longer exists' THEN 'USER_ACCOUNT_DELETED'
        WHEN 'the recipient user has no primary email' THEN 'USER_HAS_NO_PRIMARY_EMAIL'
    END
WHERE status = 'skipped'
  AND skipped_reason IN ('the recipient user no longer exists',
                         'the recipient user has no primary email');

-- The admin project object's own fields (upstream's projectsCrudAdminReadSchema): four logo URLs
-- (http(s) or data:image URLs, NULL when unset), whether the project is a development
-- environment (chosen at creation), and the dashboard onboarding stage ('completed' for every
-- project made so far, as upstream's API-created projects are).
--
-- Nullable columns and constant defaults change the catalogue only, so the ACCESS EXCLUSIVE lock
-- on projects lasts as long as the CHECK's scan of a table with one row per project. Request
-- authentication reads projects, so lock_timeout makes the file give up (and the next run retry)
-- rather than queue requests behind a lock it cannot get.
ALTER TABLE projects
    ADD COLUMN logo_url text,
    ADD COLUMN logo_full_url text,
    ADD COLUMN logo_dark_mode_url text,
    ADD COLUMN logo_full_dark_mode_url text,
    ADD COLUMN is_development_environment boolean NOT NULL DEFAULT false,
    ADD COLUMN onboarding_status text NOT NULL DEFAULT 'completed'
        CHECK (onboarding_status IN ('config_choice', 'apps_selection', 'auth_setup',
                                     'domain_setup', 'email_theme_setup', 'payments_setup',
                                     'welcome', 'completed'));
