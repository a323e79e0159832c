-- Email addresses are the same account when they are equal after folding ASCII case only
-- (authstack_core.email_address.email_key). lower() under the database's locale also folds
-- non-ASCII letters, and differently per locale: under C.UTF-8 or en_US it turns 'İ' (U+0130)
-- into a plain 'i', so "victim@gmaİl.com" matched "victim@gmail.com". lower(... COLLATE "C")
-- folds A-Z and nothing else on every server, and the queries compare with exactly this
-- expression so these indexes serve them.
--
-- The new unique index is never stricter than the old one on a database whose locale folds
-- A-Z as ASCII does (all but Turkish and Azeri ones), so existing rows satisfy it.
DROP INDEX contact_channels_auth_value_idx;
CREATE UNIQUE INDEX contact_channels_auth_value_idx
    ON contact_channels (tenancy_id, type, lower(value COLLATE "C")) WHERE used_for_auth;
DROP INDEX contact_channels_value_idx;
CREATE INDEX contact_channels_value_idx ON contact_channels (tenancy_id, lower(value COLLATE "C"));
