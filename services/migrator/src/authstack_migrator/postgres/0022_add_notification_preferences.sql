-- migrate: lock_timeout=5s
-- Notification categories, preferences and one-click unsubscribes.
--
-- The categories are fixed (upstream's two: Transactional, which cannot be turned off, and
-- Marketing); each outbox row names the one it was sent in, so that the worker can skip a mail
-- the user turned off. Adding a column with a constant default does not rewrite the outbox; rows
-- written before this migration were all built-in or send-email mails, i.e. Transactional.
ALTER TABLE email_outbox
    ADD COLUMN notification_category_id uuid NOT NULL
        DEFAULT '7bb82d33-2f54-4a3d-9d23-82739e0d66ef';

-- A user's choice per category; no row means the category's default (enabled).
CREATE TABLE notification_preferences (
    tenancy_id                uuid NOT NULL,
    user_id                   uuid NOT NULL,
    notification_category_id  uuid NOT NULL,
    enabled                   boolean NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, user_id, notification_category_id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);

-- Unsubscribe links are signed (nothing is stored when a mail is sent); a link that was used is
-- recorded here by its id (the outbox row it was sent in), so that it works exactly once. Rows
-- are kept until the user goes: a link lives 90 days, a row is a few dozen bytes.
CREATE TABLE email_unsubscribe_uses (
    tenancy_id  uuid NOT NULL,
    link_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    used_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, link_id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
