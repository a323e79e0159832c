-- Session replays (rrweb): one row per replay (one refresh token's recording while batches keep
-- coming) and one per stored batch ("chunk"). The events themselves are gzip objects in the
-- private bucket under an unguessable key; these rows are what admins list and what the
-- per-project size budget sums.
CREATE TABLE session_replays (
    tenancy_id        uuid NOT NULL,
    id                uuid NOT NULL,
    user_id           uuid NOT NULL,
    refresh_token_id  uuid NOT NULL,
    started_at        timestamptz NOT NULL,
    last_event_at     timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
-- The admin list: newest first per tenancy, optionally for one user.
CREATE INDEX session_replays_recent_idx ON session_replays (tenancy_id, last_event_at DESC, id DESC);
CREATE INDEX session_replays_user_idx ON session_replays (tenancy_id, user_id, last_event_at DESC);
-- A batch joins its refresh token's latest replay.
CREATE INDEX session_replays_token_idx ON session_replays (tenancy_id, refresh_token_id, last_event_at DESC);

CREATE TABLE session_replay_chunks (
    tenancy_id                 uuid NOT NULL,
    id                         uuid NOT NULL,
    session_replay_id          uuid NOT NULL,
    batch_id                   uuid NOT NULL,
    browser_session_id         uuid NOT NULL,
    session_replay_segment_id  uuid NOT NULL,
    storage_key                text NOT NULL UNIQUE,
    event_count                integer NOT NULL CHECK (event_count > 0),
    byte_size                  bigint NOT NULL CHECK (byte_size >= 0),
    first_event_at             timestamptz NOT NULL,
    last_event_at              timestamptz NOT NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    -- A client retrying a batch must not store it twice.
    UNIQUE (tenancy_id, session_replay_id, batch_id),
    FOREIGN KEY (tenancy_id, session_replay_id) REFERENCES session_replays (tenancy_id, id)
        ON DELETE CASCADE
);
CREATE INDEX session_replay_chunks_order_idx
    ON session_replay_chunks (tenancy_id, session_replay_id, first_event_at, id);
-- A retried batch is found before its events are stored again.
CREATE INDEX session_replay_chunks_batch_idx ON session_replay_chunks (tenancy_id, batch_id);
