-- Stored images (public bucket) that no row may refer to. An upload is recorded here, and that
-- record committed, before the object is written; the transaction that puts its URL in a row
-- deletes the record. An image a row lets go of (replaced, cleared, its user or team deleted)
-- is recorded in that row's transaction and its object deleted after commit. So a record older
-- than an hour names an orphan (the request failed, or its process died between the steps),
-- and the cron step deletes the object, then the record.
CREATE TABLE unattached_objects (
    key         text PRIMARY KEY,
    project_id  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unattached_objects_created_at_idx ON unattached_objects (created_at);
