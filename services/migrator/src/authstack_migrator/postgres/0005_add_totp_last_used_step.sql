-- The last TOTP time step (unix time // 30) that completed an MFA sign-in for the user. A code
-- of that step or an earlier one is refused afterwards, so a TOTP seen once (shoulder-surfed,
-- phished, replayed) cannot sign in again within its validity window. NULL: none used yet, or
-- the secret changed since.
ALTER TABLE users ADD COLUMN totp_last_used_step bigint;
