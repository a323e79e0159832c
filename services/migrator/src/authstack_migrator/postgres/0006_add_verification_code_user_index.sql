-- Issuing a password-reset code, using one, or changing a password expires the user's other live
-- reset codes (found by the user id in the code's data). Only unused codes are ever looked up this
-- way, so the index leaves used ones out.
CREATE INDEX verification_codes_live_user_idx
    ON verification_codes (project_id, branch_id, type, (data->>'user_id'))
    WHERE used_at IS NULL;
