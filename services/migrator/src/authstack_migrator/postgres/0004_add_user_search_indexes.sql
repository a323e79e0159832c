-- Trigram indexes serve GET /users?query=... (substring search of emails and display names)
-- without walking every user of a project. pg_trgm is a trusted extension (PostgreSQL 13+), so
-- the database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_display_name_trgm_idx ON users USING gin (display_name gin_trgm_ops);
CREATE INDEX contact_channels_value_trgm_idx ON contact_channels USING gin (value gin_trgm_ops);
