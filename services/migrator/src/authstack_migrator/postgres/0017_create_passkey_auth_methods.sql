-- Passkeys (WebAuthn, contract §6 PasskeyAuthMethod): at most one per user, as upstream;
-- registering again replaces it. credential_id is the credential's raw id in base64url (what
-- the browser sends as `id`); public_key is the COSE key the authenticator attested; counter is
-- the authenticator's signature counter (0 for authenticators that keep none). user_handle is
-- what upstream stores and returns from /auth/passkey/register (the credential id).
CREATE TABLE passkey_auth_methods (
    tenancy_id    uuid NOT NULL,
    user_id       uuid NOT NULL,
    credential_id text NOT NULL,
    public_key    bytea NOT NULL,
    user_handle   text NOT NULL,
    transports    text[] NOT NULL DEFAULT '{}',
    counter       bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, user_id),
    -- Sign-in finds the user by the credential: one credential id names one user per tenancy.
    UNIQUE (tenancy_id, credential_id),
    FOREIGN KEY (tenancy_id, user_id) REFERENCES users (tenancy_id, id) ON DELETE CASCADE
);

-- users.passkey_auth_enabled now says whether the user has a row above (the domain keeps the two
-- in step). Before this table it was a plain flag anyone with a server key could set; no user
-- has a passkey yet, so none keeps it.
UPDATE users SET passkey_auth_enabled = false WHERE passkey_auth_enabled;
