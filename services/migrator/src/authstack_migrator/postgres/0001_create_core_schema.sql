-- Projects, tenancies, key sets, users and everything a signed-in session needs.
-- Every user-owned row carries tenancy_id and every primary key starts with it, so a query that
-- forgets its tenancy cannot use the index and stands out in review.

CREATE TABLE projects (
    id               text PRIMARY KEY CHECK (id = 'internal' OR id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    display_name     text NOT NULL,
    description      text NOT NULL DEFAULT '',
    is_production_mode boolean NOT NULL DEFAULT false,
    owner_team_id    uuid,
    -- Dot-path config overrides (contract §10), merged over the defaults in code.
    config_override  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(config_override) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenancies (
    id          uuid PRIMARY KEY,
    project_id  text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    branch_id   text NOT NULL DEFAULT 'main',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, branch_id)
);

-- Project keys are stored as SHA-256 hashes; only the last four characters are kept for display.
CREATE TABLE api_key_sets (
    project_id                   text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id                           uuid NOT NULL,
    description                  text NOT NULL DEFAULT '',
    expires_at                   timestamptz,
    manually_revoked_at          timestamptz,
    publishable_client_key_hash  bytea UNIQUE,
    publishable_client_key_last4 text,
    secret_server_key_hash       bytea UNIQUE,
    secret_server_key_last4      text,
    super_secret_admin_key_hash  bytea UNIQUE,
    super_secret_admin_key_last4 text,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id)
);

CREATE TABLE users (
    tenancy_id                  uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                          uuid NOT NULL,
    display_name                text,
    profile_image_url           text,
    client_metadata             jsonb,
    client_read_only_metadata   jsonb,
    server_metadata             jsonb,
    requires_totp_mfa           boolean NOT NULL DEFAULT false,
    totp_secret                 bytea,
    otp_auth_enabled            boolean NOT NULL DEFAULT false,
    passkey_auth_enabled        boolean NOT NULL DEFAULT false,
    is_anonymous                boolean NOT NULL DEFAULT false,
    restricted_by_admin         boolean NOT NULL DEFAULT false,
    restricted_by_admin_reason  text,
    restricted_by_admin_private_details text,
    country_code                text,
    risk_score_bot              smallint NOT NULL DEFAULT 0 CHECK (risk_score_bot BETWEEN 0 AND 100),
    risk_score_free_trial_abuse smallint NOT NULL DEFAULT 0 CHECK (risk_score_free_trial_abuse BETWEEN 0 AND 100),
    signed_up_at                timestamptz NOT NULL DEFAULT now(),
    last_active_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    CHECK (restricted_by_admin OR (restricted_by_admin_reason IS NULL AND restricted_by_admin_private_details IS NULL))
);
CREATE INDEX users_signed_up_at_idx ON users (tenancy_id, signed_up_at, id);

CREATE TABLE contact_channels (
    tenancy_id    uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    type          text NOT NULL DEFAULT 'email' CHECK (type = 'email'),
    value         text NOT NULL,
    is_primary    boolean NOT NULL DEFAULT false,
    is_verified   boolean NOT NULL DEFAULT false,
    used_for_auth boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE,
    UNIQUE (tenancy_id, user_id, type, value)
);
-- One account per sign-in email in a tenancy (case-insensitively); one primary channel per user.
CREATE UNIQUE INDEX contact_channels_auth_value_idx
    ON contact_channels (tenancy_id, type, lower(value)) WHERE used_for_auth;
CREATE UNIQUE INDEX contact_channels_primary_idx
    ON contact_channels (tenancy_id, user_id, type) WHERE is_primary;
CREATE INDEX contact_channels_value_idx ON contact_channels (tenancy_id, lower(value));

CREATE TABLE password_auth_methods (
    tenancy_id    uuid NOT NULL,
    user_id       uuid NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, user_id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);

-- Sessions. The refresh token itself is never stored: only its SHA-256.
CREATE TABLE refresh_tokens (
    tenancy_id          uuid NOT NULL,
    id                  uuid NOT NULL,
    user_id             uuid NOT NULL,
    token_hash          bytea NOT NULL UNIQUE,
    is_impersonation    boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz,
    last_active_at      timestamptz NOT NULL DEFAULT now(),
    last_active_ip_info jsonb,
    PRIMARY KEY (tenancy_id, id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenancy_id, user_id);

-- Codes are stored hashed. nonce_hash covers the last 39 characters, which OTP attempts share.
CREATE TABLE verification_codes (
    project_id    text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    branch_id     text NOT NULL DEFAULT 'main',
    id            uuid NOT NULL,
    type          text NOT NULL,
    code_hash     bytea NOT NULL UNIQUE,
    nonce_hash    bytea NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    redirect_url  text,
    method        jsonb NOT NULL DEFAULT '{}'::jsonb,
    data          jsonb NOT NULL DEFAULT '{}'::jsonb,
    attempt_count integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, branch_id, id)
);
CREATE INDEX verification_codes_nonce_idx ON verification_codes (nonce_hash);

CREATE TABLE teams (
    tenancy_id                uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id                        uuid NOT NULL,
    display_name              text NOT NULL,
    profile_image_url         text,
    client_metadata           jsonb,
    client_read_only_metadata jsonb,
    server_metadata           jsonb,
    created_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id)
);

CREATE TABLE team_members (
    tenancy_id        uuid NOT NULL,
    team_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    display_name      text,
    profile_image_url text,
    is_selected       boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, team_id, user_id),
    FOREIGN KEY (tenancy_id, team_id) REFERENCES teams (tenancy_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX team_members_selected_idx ON team_members (tenancy_id, user_id) WHERE is_selected;
CREATE INDEX team_members_user_idx ON team_members (tenancy_id, user_id);

CREATE TABLE team_member_permissions (
    tenancy_id    uuid NOT NULL,
    team_id       uuid NOT NULL,
    user_id       uuid NOT NULL,
    permission_id text NOT NULL CHECK (permission_id ~ '^\$?[a-z0-9_:]+$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, team_id, user_id, permission_id),
    FOREIGN KEY (tenancy_id, team_id, user_id)
        REFERENCES team_members (tenancy_id, team_id, user_id) ON DELETE CASCADE
);
