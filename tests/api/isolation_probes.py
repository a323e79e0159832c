"""The isolation matrix's data: each probe is one request by project A naming B's ids.

A new route joins the matrix by adding a ``Probe`` here, or an ``EXEMPT`` entry saying why no id of
another project can be named through it (test_isolation_matrix.py runs them).
"""

from __future__ import annotations

from typing import Any

from tests.api.helpers import PASSWORD
from tests.api.isolation_probe import As, Expect, Probe, p

__all__ = ["CALLBACK", "EXEMPT", "MARKETING", "PROBES", "As", "Expect", "Probe"]

CALLBACK = "http://localhost:3000/handler/team-invitation"
# Well-formed WebAuthn answers; the assertion is one B's user's passkey made for B's code.
PASSKEY_CREDENTIAL = {
    "id": "AAAA", "rawId": "AAAA", "type": "public-key",
    "response": {"clientDataJSON": "e30", "attestationObject": "oA"},
}  # fmt: skip
PASSKEY_ASSERTION = {
    "id": "{b_passkey_credential}", "rawId": "{b_passkey_credential}", "type": "public-key",
    "response": {"clientDataJSON": "{b_passkey_client_data}",
                 "authenticatorData": "{b_passkey_authenticator_data}",
                 "signature": "{b_passkey_signature}"},
}  # fmt: skip
U = "/api/v1/users/{user_id:str}"
T = "/api/v1/teams/{team_id:str}"
M = "/api/v1/team-memberships/{team_id:str}/{user_id:str}"
MP = "/api/v1/team-member-profiles/{team_id:str}/{user_id:str}"
TP = "/api/v1/team-permissions/{team_id:str}/{user_id:str}/{permission_id:str}"
PP = "/api/v1/project-permissions/{user_id:str}/{permission_id:str}"
CC = "/api/v1/contact-channels/{user_id:str}/{contact_channel_id:str}"
UK = "/api/v1/user-api-keys/{api_key_id:str}"
TK = "/api/v1/team-api-keys/{api_key_id:str}"
INV = "/api/v1/team-invitations/{invitation_id:str}"
TD = "/api/v1/team-permission-definitions/{permission_id:str}"
PD = "/api/v1/project-permission-definitions/{permission_id:str}"
CO = "/api/v1/internal/config/override/{level:str}"
WH = "/api/v1/internal/webhooks/endpoints/{endpoint_id:str}"
OP = "/api/v1/oauth-providers/{user_id:str}/{provider_id:str}"
CA = "/api/v1/connected-accounts/{user_id:str}/{provider_id:str}"
SR = "/api/v1/internal/session-replays/{session_replay_id:str}"
SRB = "/api/v1/internal/session-replays/{b_replay}"
SYNC = "/api/v1/internal/external-db-sync"
AUDIT = "/api/v1/internal/audit-log"
CLI = "/api/v1/auth/cli"
NP = "/api/v1/emails/notification-preference/{user_id:str}"
NPC = NP + "/{notification_category_id:str}"
MARKETING = "4f6f8873-3d04-46bd-8bef-18338b1a1b4c"
THEMES = "/api/v1/internal/email-themes"
DRAFTS = "/api/v1/internal/email-drafts"
RENDER = "/api/v1/emails/render-email"


def _definition_probes(scope: str, route: str) -> list[Probe]:
    """A's admin lists its own ``scope`` definitions and cannot name B's ``b_only_<scope>``."""
    listing = f"/api/v1/{scope}-permission-definitions"
    b_only = f"b_only_{scope}"
    return [
        p("GET", listing, "admin", "own"),
        p("POST", listing, "admin", "denied",
          body={"id": "probe", "contained_permission_ids": [b_only]}),
        p("PATCH", route, "admin", "denied", path=f"{listing}/{b_only}", body={"description": "x"}),
        p("DELETE", route, "admin", "denied", path=f"{listing}/{b_only}"),
    ]  # fmt: skip


def _user_item_probes(route: str, item: str, patch: dict[str, Any]) -> list[Probe]:
    """Read, change and delete B's ``item`` at ``route`` (``.../{user_id}/{<item>_id}``): as A's
    server naming B's user, and as A's client naming its own user (``me``)."""
    base = route.partition("/{user_id")[0]
    return [
        p(method, route, as_, "denied", path=f"{base}/{user}/{item}",
          body=patch if method == "PATCH" else None)
        for method in ("GET", "PATCH", "DELETE")
        for as_, user in (("server", "{b_user}"), ("client", "me"))
    ]  # fmt: skip


PROBES: list[Probe] = [
    # --- the spine: users, sessions, tokens ---
    p("GET", U, "server", "denied", path="/api/v1/users/{b_user}"),
    p("PATCH", U, "server", "denied", path="/api/v1/users/{b_user}", body={"display_name": "x"}),
    p("DELETE", U, "server", "denied", path="/api/v1/users/{b_user}"),
    p("GET", "/api/v1/users", "server", "empty", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/users", "server", "empty", params={"query": "{b_user}"}),
    p("GET", "/api/v1/users", "server", "own"),
    p("PATCH", "/api/v1/users/me", "client", "denied", body={"selected_team_id": "{b_team}"}),
    p("GET", "/api/v1/auth/sessions", "server", "empty", params={"user_id": "{b_user}"}),
    p("POST", "/api/v1/auth/sessions", "server", "denied", body={"user_id": "{b_user}"}),
    p("DELETE", "/api/v1/auth/sessions/{session_id:str}", "server", "denied",
      path="/api/v1/auth/sessions/{b_session}", params={"user_id": "{b_user}"}),
    p("DELETE", "/api/v1/auth/sessions/{session_id:str}", "client", "denied",
      path="/api/v1/auth/sessions/{b_session}", params={"user_id": "me"}),
    p("POST", "/api/v1/auth/sessions/current/refresh", "client", "denied",
      headers={"x-stack-refresh-token": "{b_refresh_token}"}),
    p("POST", "/api/v1/auth/password/sign-in", "client", "denied",
      body={"email": "{b_email}", "password": PASSWORD}),
    p("GET", "/api/v1/projects/current", "client", "own"),
    # --- teams, memberships, profiles ---
    p("GET", "/api/v1/teams", "server", "empty", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/teams", "server", "empty", params={"query": "{b_team}"}),
    p("POST", "/api/v1/teams", "server", "denied",
      body={"display_name": "x", "creator_user_id": "{b_user}"}),
    p("GET", T, "server", "denied", path="/api/v1/teams/{b_team}"),
    p("GET", T, "client", "denied", path="/api/v1/teams/{b_team}"),
    p("PATCH", T, "server", "denied", path="/api/v1/teams/{b_team}", body={"display_name": "x"}),
    p("PATCH", T, "client", "denied", path="/api/v1/teams/{b_team}", body={"display_name": "x"}),
    p("DELETE", T, "server", "denied", path="/api/v1/teams/{b_team}"),
    p("DELETE", T, "client", "denied", path="/api/v1/teams/{b_team}"),
    p("POST", M, "server", "denied", path="/api/v1/team-memberships/{b_team}/{a_user}", body={}),
    p("POST", M, "server", "denied", path="/api/v1/team-memberships/{a_team}/{b_user}", body={}),
    p("DELETE", M, "server", "denied", path="/api/v1/team-memberships/{b_team}/{b_user}"),
    p("DELETE", M, "client", "denied", path="/api/v1/team-memberships/{b_team}/{b_user}"),
    p("GET", "/api/v1/team-member-profiles", "server", "denied", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/team-member-profiles", "server", "denied", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/team-member-profiles", "client", "denied", params={"team_id": "{b_team}"}),
    p("GET", MP, "server", "denied", path="/api/v1/team-member-profiles/{b_team}/{b_user}"),
    p("GET", MP, "client", "denied", path="/api/v1/team-member-profiles/{b_team}/{b_user}"),
    p("PATCH", MP, "server", "denied", path="/api/v1/team-member-profiles/{b_team}/{b_user}",
      body={"display_name": "x"}),
    # --- invitations ---
    p("POST", "/api/v1/team-invitations/send-code", "server", "denied",
      body={"team_id": "{b_team}", "email": "{b_email}", "callback_url": CALLBACK}),
    p("POST", "/api/v1/team-invitations/send-code", "client", "denied",
      body={"team_id": "{b_team}", "email": "{b_email}", "callback_url": CALLBACK}),
    p("GET", "/api/v1/team-invitations", "server", "denied", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/team-invitations", "client", "denied", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/team-invitations", "server", "empty", params={"user_id": "{b_user}"}),
    # A's user holds the same verified address the B invitation went to: still nothing.
    p("GET", "/api/v1/team-invitations", "client", "empty", params={"user_id": "me"}),
    p("DELETE", INV, "server", "denied", path="/api/v1/team-invitations/{b_invitation}",
      params={"team_id": "{b_team}"}),
    p("DELETE", INV, "server", "denied", path="/api/v1/team-invitations/{b_invitation}",
      params={"team_id": "{a_team}"}),
    p("POST", INV + "/accept", "client", "denied",
      path="/api/v1/team-invitations/{b_invitation}/accept", params={"user_id": "me"}),
    p("POST", INV + "/accept", "server", "denied",
      path="/api/v1/team-invitations/{b_invitation}/accept", params={"user_id": "{a_user}"}),
    p("POST", "/api/v1/team-invitations/accept", "client", "denied", body={"code": "{b_code}"}),
    p("POST", "/api/v1/team-invitations/accept/check-code", "client", "denied",
      body={"code": "{b_code}"}),
    p("POST", "/api/v1/team-invitations/accept/details", "client", "denied",
      body={"code": "{b_code}"}),
    # --- permissions ---
    p("GET", "/api/v1/team-permissions", "server", "empty", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/team-permissions", "server", "empty", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/team-permissions", "client", "denied", params={"user_id": "{b_user}"}),
    p("POST", TP, "server", "denied",
      path="/api/v1/team-permissions/{b_team}/{b_user}/$read_members", body={}),
    p("DELETE", TP, "server", "denied",
      path="/api/v1/team-permissions/{b_team}/{b_user}/team_admin"),
    p("GET", "/api/v1/project-permissions", "server", "empty", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/project-permissions", "client", "denied", params={"user_id": "{b_user}"}),
    p("POST", PP, "server", "denied", path="/api/v1/project-permissions/{b_user}/b_only_project",
      body={}),
    p("DELETE", PP, "server", "denied", path="/api/v1/project-permissions/{b_user}/b_only_project"),
    *_definition_probes("team", TD),
    *_definition_probes("project", PD),
    # --- contact channels ---
    p("GET", "/api/v1/contact-channels", "server", "empty", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/contact-channels", "server", "empty",
      params={"contact_channel_id": "{b_channel}"}),
    p("GET", "/api/v1/contact-channels", "client", "denied", params={"user_id": "{b_user}"}),
    p("POST", "/api/v1/contact-channels", "server", "denied",
      body={"user_id": "{b_user}", "value": "a@example.com", "type": "email",
            "used_for_auth": False}),
    *_user_item_probes(CC, "{b_channel}", {"is_primary": True}),
    # --- linked and connected OAuth accounts (B's user has a spotify account) ---
    p("GET", "/api/v1/oauth-providers", "server", "own"),
    p("GET", "/api/v1/oauth-providers", "server", "denied", params={"user_id": "{b_user}"}),
    p("GET", "/api/v1/oauth-providers", "client", "denied", params={"user_id": "{b_user}"}),
    p("POST", "/api/v1/oauth-providers", "server", "denied",
      body={"user_id": "{b_user}", "provider_config_id": "spotify", "account_id": "x",
            "allow_sign_in": False, "allow_connected_accounts": False}),
    *_user_item_probes(OP, "{b_oauth_account}", {"allow_sign_in": False}),
    p("GET", "/api/v1/connected-accounts/{user_id:str}", "server", "denied",
      path="/api/v1/connected-accounts/{b_user}"),
    p("GET", "/api/v1/connected-accounts/{user_id:str}", "client", "denied",
      path="/api/v1/connected-accounts/{b_user}"),
    p("POST", CA + "/access-token", "server", "denied",
      path="/api/v1/connected-accounts/{b_user}/spotify/access-token", body={}),
    p("POST", CA + "/{provider_account_id:str}/access-token", "server", "denied",
      path="/api/v1/connected-accounts/{b_user}/spotify/{b_oauth_account_id}/access-token",
      body={}),
    p("POST", CA + "/{provider_account_id:str}/access-token", "client", "denied",
      path="/api/v1/connected-accounts/me/spotify/{b_oauth_account_id}/access-token", body={}),
    p("POST", "/api/v1/auth/oauth/connected-accounts/{provider_id:str}/access-token", "client",
      "denied", path="/api/v1/auth/oauth/connected-accounts/spotify/access-token", body={}),
    # --- API keys ---
    p("GET", "/api/v1/user-api-keys", "server", "empty", params={"user_id": "{b_user}"}),
    p("POST", "/api/v1/user-api-keys", "server", "denied",
      body={"description": "x", "expires_at_millis": None, "user_id": "{b_user}"}),
    p("GET", UK, "server", "denied", path="/api/v1/user-api-keys/{b_user_key}"),
    p("GET", UK, "client", "denied", path="/api/v1/user-api-keys/{b_user_key}"),
    p("PATCH", UK, "server", "denied", path="/api/v1/user-api-keys/{b_user_key}",
      body={"revoked": True}),
    p("POST", "/api/v1/user-api-keys/check", "server", "denied",
      body={"api_key": "{b_user_key_value}"}),
    p("GET", "/api/v1/team-api-keys", "server", "empty", params={"team_id": "{b_team}"}),
    p("GET", "/api/v1/team-api-keys", "client", "denied", params={"team_id": "{b_team}"}),
    p("POST", "/api/v1/team-api-keys", "server", "denied",
      body={"description": "x", "expires_at_millis": None, "team_id": "{b_team}"}),
    p("GET", TK, "server", "denied", path="/api/v1/team-api-keys/{b_team_key}"),
    p("PATCH", TK, "server", "denied", path="/api/v1/team-api-keys/{b_team_key}",
      body={"revoked": True}),
    p("PATCH", TK, "client", "denied", path="/api/v1/team-api-keys/{b_team_key}",
      body={"revoked": True}),
    p("POST", "/api/v1/team-api-keys/check", "server", "denied",
      body={"api_key": "{b_team_key_value}"}),
    # --- admin API (internal projects, key sets, metrics) ---
    p("GET", "/api/v1/internal/projects", "client", "denied"),
    p("POST", "/api/v1/internal/projects", "client", "denied",
      body={"display_name": "x", "owner_team_id": "{b_team}"}),
    p("GET", "/api/v1/internal/projects/current", "admin", "own"),
    p("GET", "/api/v1/internal/metrics", "admin", "own"),
    p("GET", "/api/v1/internal/sign-up-rules-stats", "admin", "own"),
    p("POST", "/api/v1/internal/sign-up-rules-test", "admin", "own",
      body={"email": "{b_email}", "auth_method": "password", "oauth_provider": None,
            "country_code": None}),
    p("GET", "/api/v1/internal/metrics/user-counts", "admin", "own"),
    # --- analytics: A's admin SQL sees A's rows only (tests/analytics has the attack list) ---
    p("POST", "/api/v1/internal/analytics/query", "admin", "own",
      body={"query": "SELECT * FROM events"}),
    p("POST", "/api/v1/internal/analytics/query", "admin", "denied",
      body={"query": "SELECT * FROM analytics_internal.events"}),
    p("POST", "/api/v1/internal/analytics/query/timing", "server", "denied",
      body={"query_id": "{b_user}"}),
    # --- session replays: B's replay, its chunks and events by id; B's batch id ---
    p("GET", "/api/v1/internal/session-replays", "admin", "empty"),
    p("GET", "/api/v1/internal/session-replays", "admin", "empty", params={"user_ids": "{b_user}"}),
    p("GET", "/api/v1/internal/session-replays", "admin", "denied",
      params={"cursor": "{b_replay}"}),
    p("GET", SR + "/chunks", "admin", "denied", path=SRB + "/chunks"),
    p("GET", SR + "/chunks", "admin", "denied", path=SRB + "/chunks",
      params={"cursor": "{b_replay_chunk}"}),
    p("GET", SR + "/events", "admin", "denied", path=SRB + "/events"),
    p("GET", SR + "/chunks/{chunk_id:str}/events", "admin", "denied",
      path=SRB + "/chunks/{b_replay_chunk}/events"),
    p("POST", "/api/v1/session-replays/batch", "client", "own",
      body={"browser_session_id": "{b_replay_batch}", "session_replay_segment_id": "{b_replay}",
            "batch_id": "{b_replay_batch}", "started_at_ms": 1_780_000_000_000,
            "sent_at_ms": 1_780_000_000_000, "events": [{"type": 2, "timestamp": 1}]}),
    p("GET", "/api/v1/internal/api-keys", "admin", "own"),
    p("GET", "/api/v1/internal/api-keys/{key_set_id:str}", "admin", "denied",
      path="/api/v1/internal/api-keys/{b_key_set}"),
    p("PATCH", "/api/v1/internal/api-keys/{key_set_id:str}", "admin", "denied",
      path="/api/v1/internal/api-keys/{b_key_set}", body={"revoked": True}),
    # --- codes e-mailed by B: reset, verification, magic link ---
    p("POST", "/api/v1/auth/password/reset", "client", "denied",
      body={"code": "{b_reset_code}", "password": "another-password-123"}),
    p("POST", "/api/v1/auth/password/reset/check-code", "client", "denied",
      body={"code": "{b_reset_code}"}),
    p("POST", "/api/v1/contact-channels/verify", "client", "denied",
      body={"code": "{b_verify_code}"}),
    p("POST", "/api/v1/contact-channels/verify/check-code", "client", "denied",
      body={"code": "{b_verify_code}"}),
    p("POST", "/api/v1/auth/otp/sign-in", "client", "denied", body={"code": "{b_otp_code}"}),
    p("POST", "/api/v1/auth/otp/sign-in/check-code", "client", "denied",
      body={"code": "{b_otp_code}"}),
    p("POST", "/api/v1/auth/mfa/sign-in", "client", "denied",
      body={"type": "totp", "totp": "123456", "code": "{b_mfa_attempt_code}"}),
    # B's passkey ceremonies: its challenge codes, and an assertion by B's user's passkey.
    p("POST", "/api/v1/auth/passkey/register", "client", "denied",
      body={"credential": PASSKEY_CREDENTIAL, "code": "{b_passkey_registration_code}"}),
    p("POST", "/api/v1/auth/passkey/sign-in", "client", "denied",
      body={"authentication_response": PASSKEY_ASSERTION, "code": "{b_passkey_sign_in_code}"}),
    p("POST", CC + "/send-verification-code", "server", "denied",
      path="/api/v1/contact-channels/{b_user}/{b_channel}/send-verification-code",
      body={"callback_url": CALLBACK}),
    p("POST", CC + "/send-verification-code", "client", "denied",
      path="/api/v1/contact-channels/me/{b_channel}/send-verification-code",
      body={"callback_url": CALLBACK}),
    p("POST", "/api/v1/contact-channels/send-verification-code", "client", "denied",
      body={"email": "{b_email}", "callback_url": CALLBACK}),
    # --- e-mails: send, outbox, templates ---
    p("POST", "/api/v1/emails/send-email", "server", "denied",
      body={"user_ids": ["{b_user}"], "html": "<p>x</p>", "subject": "x"}),
    p("POST", "/api/v1/emails/send-email", "server", "denied",
      body={"user_ids": ["{a_user}"], "template_id": "{b_template}"}),
    p("GET", "/api/v1/emails/outbox", "server", "own"),
    *(p(method, "/api/v1/emails/outbox/{outbox_id:str}", "server", "denied", body=body,
        path="/api/v1/emails/outbox/{b_outbox}") for method, body in
      (("GET", None), ("PATCH", {"cancel": True}), ("PATCH", {"is_paused": True}))),
    # B's email as a cursor positions nothing in A's list of sent mail.
    p("GET", "/api/v1/internal/emails", "admin", "own"),
    p("GET", "/api/v1/internal/emails", "admin", "empty", params={"cursor": "{b_outbox}"}),
    p("GET", "/api/v1/emails/delivery-info", "server", "own"),
    p("POST", "/api/v1/emails/capacity-boost", "server", "own"),
    # A test mail to B's user goes through A's own server settings (none here: just an answer).
    p("POST", "/api/v1/internal/send-test-email", "admin", "own",
      body={"recipient_email": "{b_email}"}),
    p("GET", "/api/v1/internal/email-templates", "admin", "own"),
    # --- notification preferences: B's user, as A's server and as A's signed-in client ---
    *(p(method, route, as_, "denied", body=body,
        path="/api/v1/emails/notification-preference/{b_user}" + tail)
      for method, route, tail, body in (("GET", NP, "", None),
                                        ("PATCH", NPC, "/" + MARKETING, {"enabled": True}))
      for as_ in ("server", "client")),
    p("GET", NP, "client", "own", path="/api/v1/emails/notification-preference/me"),
    # Themes (in the config) and drafts: B's are never listed, read, changed or rendered.
    p("GET", THEMES, "admin", "own"),
    p("GET", THEMES + "/{theme_id:str}", "admin", "denied", path=THEMES + "/{b_theme}"),
    p("PATCH", THEMES + "/{theme_id:str}", "admin", "denied", path=THEMES + "/{b_theme}",
      body={"display_name": "x"}),
    p("GET", DRAFTS, "admin", "own"),
    p("POST", DRAFTS, "admin", "denied", body={"display_name": "x", "theme_id": "{b_theme}"}),
    p("GET", DRAFTS + "/{draft_id:str}", "admin", "denied", path=DRAFTS + "/{b_draft}"),
    p("PATCH", DRAFTS + "/{draft_id:str}", "admin", "denied", path=DRAFTS + "/{b_draft}",
      body={"display_name": "x"}),
    p("PATCH", DRAFTS + "/{draft_id:str}", "admin", "denied", path=DRAFTS + "/{a_draft}",
      body={"theme_id": "{b_theme}"}),
    p("DELETE", DRAFTS + "/{draft_id:str}", "admin", "denied", path=DRAFTS + "/{b_draft}"),
    p("POST", RENDER, "admin", "denied", body={"draft_id": "{b_draft}"}),
    p("POST", RENDER, "admin", "denied", body={"template_id": "{b_template}"}),
    p("POST", RENDER, "admin", "denied",
      body={"template_tsx_source": "<p>x</p>", "theme_id": "{b_theme}"}),
    p("POST", RENDER, "admin", "denied", body={"draft_id": "{b_draft}", "theme_id": False}),
    # --- config overrides: only the caller's own project (the writes change nothing) ---
    p("GET", "/api/v1/internal/config", "admin", "own"),
    p("GET", "/api/v1/internal/config/source", "admin", "own"),
    p("DELETE", "/api/v1/internal/config/source", "admin", "own"),
    p("GET", CO, "admin", "own", path="/api/v1/internal/config/override/environment"),
    p("GET", CO, "server", "own", path="/api/v1/internal/config/override/branch"),
    p("PATCH", CO, "admin", "own", path="/api/v1/internal/config/override/environment",
      body={"config_override_string": "{}"}),
    p("PUT", CO, "server", "own", path="/api/v1/internal/config/override/branch",
      body={"config_string": "{}", "source": {"type": "unlinked"}}),
    p("POST", CO + "/reset-keys", "admin", "own",
      path="/api/v1/internal/config/override/environment/reset-keys", body={"keys": []}),
    p("PATCH", "/api/v1/internal/email-templates/{template_id:str}", "admin", "denied",
      path="/api/v1/internal/email-templates/{b_template}", body={"display_name": "x"}),
    p("DELETE", "/api/v1/internal/email-templates/{template_id:str}", "admin", "denied",
      path="/api/v1/internal/email-templates/{b_template}"),
    # --- webhooks: B's endpoint and messages ---
    p("GET", "/api/v1/internal/webhooks/endpoints", "admin", "empty"),
    p("GET", WH, "admin", "denied", path="/api/v1/internal/webhooks/endpoints/{b_endpoint}"),
    p("PATCH", WH, "admin", "denied", path="/api/v1/internal/webhooks/endpoints/{b_endpoint}",
      body={"disabled": True}),
    p("DELETE", WH, "admin", "denied", path="/api/v1/internal/webhooks/endpoints/{b_endpoint}"),
    p("POST", WH + "/rotate-secret", "admin", "denied",
      path="/api/v1/internal/webhooks/endpoints/{b_endpoint}/rotate-secret"),
    p("GET", WH + "/attempts", "admin", "denied",
      path="/api/v1/internal/webhooks/endpoints/{b_endpoint}/attempts"),
    p("POST", "/api/v1/internal/webhooks/messages/{message_id:str}/retry", "admin", "denied",
      path="/api/v1/internal/webhooks/messages/{b_message}/retry"),
    # As upstream, an unknown endpoint is {success: false} with a 200; nothing is sent to B's.
    p("POST", "/api/v1/internal/send-test-webhook", "admin", "own",
      body={"endpoint_id": "{b_endpoint}"}),
    p("POST", "/api/v1/webhooks/svix-token", "admin", "own"),
    # --- external database sync ---
    p("GET", "/api/v1/internal/external-db-sync/status", "admin", "own"),
    # The cron's routes take CRON_SECRET or the internal project's admin; any other project's
    # admin is refused (EXPECTED_INTERNAL_PROJECT) before anything runs.
    p("GET", f"{SYNC}/sequencer", "admin", "denied"),
    # A's admin names B's configured external database: not found, nothing connects.
    p("POST", f"{SYNC}/test-connection", "admin", "denied", body={"id": "{b_external_db}"}),
    p("GET", f"{SYNC}/poller", "admin", "denied"),
    p("GET", f"{SYNC}/fusebox", "admin", "denied"),
    p("POST", f"{SYNC}/fusebox", "admin", "denied", body={"sequencer_enabled": False}),
    # --- audit log: B's entries (an impersonation of B's user, B's config change) never show ---
    p("GET", AUDIT, "admin", "own"),
    p("GET", AUDIT, "admin", "empty", params={"target_user_id": "{b_user}"}),
    # B's cursor only positions a page of A's own entries.
    p("GET", AUDIT, "admin", "own", params={"cursor": "{b_audit_cursor}"}),
    p("GET", AUDIT, "server", "denied"),
    p("GET", AUDIT, "client", "denied"),
    # --- CLI sign-in: B's polling and login codes, and the anonymous session B's CLI brought ---
    p("POST", CLI, "client", "denied", body={"anon_refresh_token": "{b_cli_anon_refresh_token}"}),
    p("POST", CLI + "/poll", "client", "denied", body={"polling_code": "{b_cli_polling_code}"}),
    p("POST", CLI + "/poll", "server", "denied", body={"polling_code": "{b_cli_polling_code}"}),
    p("POST", CLI + "/complete", "client", "denied",
      body={"login_code": "{b_cli_login_code}", "mode": "check"}),
    p("POST", CLI + "/complete", "client", "denied",
      body={"login_code": "{b_cli_login_code}", "mode": "claim-anon-session"}),
    p("POST", CLI + "/complete", "client", "denied",
      body={"login_code": "{b_cli_login_code}", "refresh_token": "{a_refresh_token}"}),
    p("POST", CLI + "/complete", "server", "denied",
      body={"login_code": "{b_cli_login_code}", "refresh_token": "{a_refresh_token}"}),
]  # fmt: skip

# Routes through which no id of another project can be named, and why.
EXEMPT = {
    ("GET", "/health"): "liveness, no project",
    ("GET", "/health/ready"): "readiness of the process's dependencies, no project",
    ("GET", "/metrics"): "operator's bearer token; deployment-wide series naming no project",
    ("GET", "/health/email"): "operator's bearer token; the project is the operator's setting",
    ("POST", "/health/email"): "operator's bearer token; the project is the operator's setting",
    ("GET", "/api/v1"): "banner, names nothing",
    ("POST", "/api/v1/check-version"): "compares a version string, no project",
    ("POST", "/api/v1/check-feature-support"): "answers a fixed text, no project",
    ("GET", "/api/v1/projects/{project_id:str}/.well-known/jwks.json"): "public keys by design",
    # The project comes from client_id; test_tenant_isolation covers B's refresh token on A.
    ("POST", "/api/v1/auth/oauth/token"): "no project headers: client_id picks the project",
    # OAuth sign-in takes no project headers either. tests/oauth covers the cross-project cases:
    # another project's access token at authorize (test_a_token_of_another_project_cannot_link)
    # and its authorization code at the token endpoint (test_a_code_of_another_project_is_invalid).
    ("GET", "/api/v1/auth/oauth/authorize/{provider_id:str}"): "client_id picks the project",
    # The flow's state picks the project; a state is a 256-bit secret found by its hash only.
    ("GET", "/api/v1/auth/oauth/callback/{provider_id:str}"): "the flow's state picks the project",
    ("POST", "/api/v1/auth/oauth/callback/{provider_id:str}"): "the flow's state picks the project",
    # An Apple ID token names an Apple account, signed in within the caller's project.
    ("POST", "/api/v1/auth/oauth/callback/apple/native"): "an Apple ID token, no project id",
    ("POST", "/api/v1/auth/password/sign-up"): "creates in the caller's project; names no id",
    ("POST", "/api/v1/auth/anonymous/sign-up"): "creates in the caller's project; names no id",
    ("POST", "/api/v1/users"): "creates in the caller's project; names no id",
    ("POST", "/api/v1/analytics/events/batch"): "events of the caller's own user and project",
    ("GET", "/api/v1/users/me"): "the caller's own user",
    ("DELETE", "/api/v1/users/me"): "the caller's own user",
    ("DELETE", "/api/v1/auth/sessions/current"): "the session of the caller's own token",
    ("POST", "/api/v1/internal/api-keys"): "creates in the caller's project; names no id",
    ("PATCH", "/api/v1/internal/projects/current"): "the caller's own project",
    ("DELETE", "/api/v1/internal/projects/current"): "the caller's own project",
    ("POST", "/api/v1/internal/email-templates"): "creates in the caller's project; names no id",
    ("POST", "/api/v1/internal/email-themes"): "creates in the caller's project; names no id",
    ("POST", "/api/v1/internal/webhooks/endpoints"): "creates in the caller's project; names no id",
    ("GET", "/api/v1/internal/email-queue-step"): "cron endpoint: CRON_SECRET, no project",
    ("POST", "/api/v1/internal/failed-emails-digest"): "cron endpoint: CRON_SECRET, no project",
    ("POST", "/api/v1/internal/prune-expired"): "cron endpoint: CRON_SECRET, no project",
    # As upstream, a request from any other project is refused by its shape (SCHEMA_ERROR) before
    # an id is read; an internal outsider naming a project is in test_project_transfer.py.
    ("POST", "/api/v1/internal/projects/transfer"): "the internal project's users only",
    ("POST", "/api/v1/auth/password/update"): "the caller's own password",
    ("POST", "/api/v1/auth/password/set"): "the caller's own password",
    # An address is not another project's id: the code sent belongs to the caller's project
    # (and B's codes are probed above through the routes that take them).
    ("POST", "/api/v1/auth/password/send-reset-code"): "names an address, not an id",
    ("POST", "/api/v1/auth/otp/send-sign-in-code"): "names an address, not an id",
    ("POST", "/api/v1/internal/send-sign-in-invitation"): "names an address, not an id",
    # No keys: forged, altered and expired tokens are refused in tests/emails/test_unsubscribe.py.
    ("GET", "/api/v1/emails/unsubscribe-link"): "a signed token picks the project",
    ("POST", "/api/v1/emails/unsubscribe-link"): "a signed token picks the project",
    # A challenge is issued in the caller's project (B's codes are probed through the routes
    # that take them); registration's is for the caller's own user.
    ("POST", "/api/v1/auth/passkey/initiate-passkey-registration"): "the caller's own user",
    ("POST", "/api/v1/auth/passkey/initiate-passkey-authentication"): "names no id",
}  # fmt: skip
