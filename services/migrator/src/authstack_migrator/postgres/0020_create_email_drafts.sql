-- Email drafts: one-off emails an admin writes in the dashboard, previews and sends
-- (/internal/email-drafts). The source is a sandboxed Jinja2 template, as the project's
-- templates are; it is only rendered (previewed or sent), never trusted.
CREATE TABLE email_drafts (
    tenancy_id          uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    display_name        text NOT NULL CHECK (length(display_name) <= 200),
    subject             text NOT NULL,
    source              text NOT NULL,
    -- Upstream's theme modes: the project's selected theme, no theme, or the one named.
    theme_mode          text NOT NULL DEFAULT 'project_default'
                        CHECK (theme_mode IN ('project_default', 'none', 'custom')),
    theme_id            text,
    template_variables  jsonb NOT NULL DEFAULT '{}',
    sent_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    CHECK ((theme_mode = 'custom') = (theme_id IS NOT NULL))
);
-- The listing: most recently edited first.
CREATE INDEX email_drafts_recent_idx ON email_drafts (tenancy_id, updated_at DESC, id);
