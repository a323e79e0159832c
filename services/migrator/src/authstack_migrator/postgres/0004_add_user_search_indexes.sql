-- migrate: no-transaction
-- migrate: lock_timeout=10min, statement_timeout=2h
-- Trigram indexes serve GET /users?query=... (substring search of emails and display names)
-- without walking every user of a project. pg_trgm is a trusted extension (PostgreSQL 13+), so
-- the database owner may create it without superuser rights.
--
-- Built CONCURRENTLY: users and contact_channels take writes the whole time, however long the
-- build. That rules out a transaction, so every statement is safe to run again. The limits are
-- generous because a concurrent build blocks nobody while it waits or works: it only waits for
-- older transactions to finish, and a large table's index takes a while. This file replaced one
-- that built the same indexes without CONCURRENTLY (see ACCEPTED_REWRITES in runner.py); where
-- that one ran, this one changes nothing.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_display_name_trgm_idx
    ON users USING gin (display_name gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_channels_value_trgm_idx
    ON contact_channels USING gin (value gin_trgm_ops);
