-- migrate: lock_timeout=5s
-- Sign-in with OAuth (contract §5.2, §6): the provider accounts linked to users, the provider
-- tokens kept for them, the state of a flow between authorize and callback, and the one-time
-- authorization codes the callback hands the app.
--
-- New tables only; the foreign keys to users and tenancies take a brief lock on those tables
-- while this file commits, hence lock_timeout: give up (the next run retries) rather than queue
-- requests behind a lock it cannot get.

-- A provider account linked to a user. provider_config_id is the key under
-- auth.oauth.providers in the project's config (a provider type such as "github", or the id of
-- a generic OpenID Connect provider). An account that signs in belongs to one user only; one that
-- only grants API access (allow_sign_in false, linked later as a connected account) may be
-- linked to several.
CREATE TABLE oauth_accounts (
    tenancy_id               uuid NOT NULL,
    id                       uuid NOT NULL,
    user_id                  uuid NOT NULL,
    provider_config_id       text NOT NULL,
    provider_account_id      text NOT NULL,
    email                    text,
    allow_sign_in            boolean NOT NULL DEFAULT true,
    allow_connected_accounts boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE,
    UNIQUE (tenancy_id, user_id, provider_config_id, provider_account_id)
);
CREATE UNIQUE INDEX oauth_accounts_sign_in_idx
    ON oauth_accounts (tenancy_id, provider_config_id, provider_account_id) WHERE allow_sign_in;
CREATE INDEX oauth_accounts_user_idx ON oauth_accounts (tenancy_id, user_id);

-- Tokens the provider issued for a linked account: access tokens (kind 'access', with their
-- expiry) and refresh tokens (kind 'refresh'). Never stored in the clear: token_sealed is
-- AES-GCM under a key derived from STACK_SERVER_SECRET, bound to the row's tenancy and id.
CREATE TABLE oauth_provider_tokens (
    tenancy_id       uuid NOT NULL,
    id               uuid NOT NULL,
    oauth_account_id uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('access', 'refresh')),
    token_sealed     bytea NOT NULL,
    scopes           text[] NOT NULL DEFAULT '{}',
    expires_at       timestamptz,
    is_valid         boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id),
    FOREIGN KEY (tenancy_id, oauth_account_id)
        REFERENCES oauth_accounts (tenancy_id, id) ON DELETE CASCADE,
    CHECK (kind = 'access' OR expires_at IS NULL)
);
CREATE INDEX oauth_provider_tokens_account_idx
    ON oauth_provider_tokens (tenancy_id, oauth_account_id, kind);

-- A flow between /auth/oauth/authorize and the provider's callback (10 minutes), found by the
-- SHA-256 of the inner state sent to the provider and taken (deleted) by the callback. It holds
-- what the app asked for (redirect_uri, state, PKCE challenge, ...) and the inner PKCE verifier
-- and OpenID nonce.
CREATE TABLE oauth_outer_infos (
    inner_state_hash            bytea PRIMARY KEY,
    tenancy_id                  uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    project_id                  text NOT NULL,
    branch_id                   text NOT NULL,
    provider_config_id          text NOT NULL,
    flow_type                   text NOT NULL CHECK (flow_type IN ('authenticate', 'link')),
    user_id                     uuid,
    redirect_uri                text NOT NULL,
    outer_state                 text NOT NULL,
    code_challenge              text NOT NULL,
    error_redirect_url          text,
    after_callback_redirect_url text,
    provider_scope              text,
    inner_code_verifier         text NOT NULL,
    nonce                       text NOT NULL,
    cookie_required             boolean NOT NULL,
    expires_at                  timestamptz NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (flow_type = 'authenticate' OR user_id IS NOT NULL)
);
-- Each authorize clears its project's flows that ended an hour ago or more (never taken).
CREATE INDEX oauth_outer_infos_expires_idx ON oauth_outer_infos (tenancy_id, expires_at);

-- One-time authorization codes (5 minutes), stored as their SHA-256 and bound to the app's
-- redirect_uri and S256 PKCE challenge; the token endpoint deletes a code as it redeems it.
CREATE TABLE oauth_authorization_codes (
    code_hash                   bytea PRIMARY KEY,
    tenancy_id                  uuid NOT NULL,
    user_id                     uuid NOT NULL,
    redirect_uri                text NOT NULL,
    code_challenge              text NOT NULL,
    is_new_user                 boolean NOT NULL,
    after_callback_redirect_url text,
    expires_at                  timestamptz NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);
-- Each new code clears its project's codes that expired an hour ago or more (never redeemed).
CREATE INDEX oauth_authorization_codes_expires_idx
    ON oauth_authorization_codes (tenancy_id, expires_at);
