"""Tenant isolation, route by route: project A's keys and tokens naming project B's ids.

Every probe below uses A's credentials (server key, admin key, or a signed-in A user) and names
something of B's: its users, teams, channels, keys, invitations, sessions, permissions, codes.
The answer must be a 4xx (not-found or forbidden) or an empty list, never B's data; afterwards B
is checked to be exactly as it was. Each probe then runs again with B's project id but A's keys or
A's access token, which must be refused outright.

The matrix is data (isolation_probes.py): a new route joins it by adding a ``Probe`` (or an
``EXEMPT`` entry saying why no id of another project can be named through it).
``test_every_route_is_in_the_matrix`` fails for a route that is in neither.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from authstack_api.app import discover_routes
from tests.api.cli_auth_helpers import b_cli_attempt, b_cli_state
from tests.api.helpers import create_user, sign_in_with_password, sign_up, unique_email
from tests.api.isolation_probes import CALLBACK, EXEMPT, PROBES, As, Probe
from tests.api.isolation_world import (
    b_audit_entries,
    b_email_snapshot,
    b_email_theme_and_draft,
    b_session_replay,
)
from tests.api.team_helpers import User, create_team, define, new_user
from tests.conftest import ApiServer, Project, create_project
from tests.factories import query_value
from tests.mail import MailSink, WorkerProcess, code_in, custom_server_config
from tests.passkeys.helpers import b_passkey_ids

# Never resolves, so nothing is ever delivered there.
B_WEBHOOK_URL = "https://hooks.b-secret.invalid/receive"
# B's external database: never resolves either (nothing ever connects to it).
B_DATABASE_URL = "postgresql://b_secret_reader:b-secret-db-password@db.b-secret.invalid/bdb"
ENABLED = {
    "apiKeys.enabled.user": True,
    "apiKeys.enabled.team": True,
    "teams.allowClientTeamCreation": True,
    "auth.otp.allowSignIn": True,
    "auth.passkey.allowSignIn": True,
    "apps.installed.analytics.enabled": True,  # session replays
    # Own keys (never used: every probe is refused before the provider would be asked).
    "auth.oauth.providers.spotify": {"type": "spotify", "isShared": False, "clientId": "c",
                                     "clientSecret": "s", "allowSignIn": True,
                                     "allowConnectedAccounts": True},
}  # fmt: skip


@dataclass
class World:
    a: Project
    b: Project
    a_user: User
    ids: dict[str, str]
    secrets: list[str]  # strings of B's that must never appear in an answer to A
    b_snapshot: dict[str, Any]


def _snapshot(http: httpx.Client, b: Project, ids: dict[str, str]) -> dict[str, Any]:
    """Everything of B's the probes could have touched, as B's own server key reads it."""
    server = b.headers("server")
    admin = b.headers("admin")
    get = lambda path, **params: http.get(path, headers=server, params=params).json()  # noqa: E731
    return {
        "user": get(f"/api/v1/users/{ids['b_user']}"),
        "team": get(f"/api/v1/teams/{ids['b_team']}"),
        "profiles": get("/api/v1/team-member-profiles", team_id=ids["b_team"]),
        "team_permissions": get("/api/v1/team-permissions", team_id=ids["b_team"]),
        "project_permissions": get("/api/v1/project-permissions", user_id=ids["b_user"]),
        "channels": get("/api/v1/contact-channels", user_id=ids["b_user"]),
        "user_keys": get("/api/v1/user-api-keys", user_id=ids["b_user"]),
        "team_keys": get("/api/v1/team-api-keys", team_id=ids["b_team"]),
        "invitations": get("/api/v1/team-invitations", team_id=ids["b_team"]),
        "sessions": [s["id"] for s in get("/api/v1/auth/sessions", user_id=ids["b_user"])["items"]],
        "team_definitions": http.get("/api/v1/team-permission-definitions", headers=admin).json(),
        "project_definitions": http.get(
            "/api/v1/project-permission-definitions", headers=admin
        ).json(),
        "key_sets": http.get("/api/v1/internal/api-keys", headers=admin).json(),
        "project": http.get("/api/v1/internal/projects/current", headers=admin).json(),
        "templates": http.get("/api/v1/internal/email-templates", headers=admin).json(),
        "webhook_endpoints": http.get("/api/v1/internal/webhooks/endpoints", headers=admin).json(),
        "oauth_accounts": get("/api/v1/oauth-providers", user_id=ids["b_user"]),
        # Nothing A did (its own config writes included) is written to B's audit log.
        "audit_log": http.get("/api/v1/internal/audit-log", headers=admin).json(),
        "cli_attempt": b_cli_state(http, b, ids),
        "emails": b_email_snapshot(http, b, ids),
    }


def _b_emailed_codes(
    http: httpx.Client,
    b: Project,
    sink: MailSink,
    user: User,
    channel: dict[str, Any],
    channel_value: str,
) -> dict[str, str]:
    """Live codes B e-mailed: a password reset, a channel verification and a magic link."""
    assert user.email is not None
    reset = http.post(
        "/api/v1/auth/password/send-reset-code",
        headers=b.headers(),
        json={"email": user.email, "callback_url": CALLBACK},
    )
    assert reset.status_code == 200, reset.text
    verify = http.post(
        f"/api/v1/contact-channels/{user.id}/{channel['id']}/send-verification-code",
        headers=b.headers("server"),
        json={"callback_url": CALLBACK},
    )
    assert verify.status_code == 200, verify.text
    otp = http.post(
        "/api/v1/auth/otp/send-sign-in-code",
        headers=b.headers(),
        json={"email": user.email, "callback_url": CALLBACK},
    )
    assert otp.status_code == 200, otp.text
    to_user = sink.wait_for(user.email, count=2)
    return {
        "b_reset_code": code_in(next(m for m in to_user if "reset" in m["subject"].lower())),
        "b_otp_code": code_in(next(m for m in to_user if "reset" not in m["subject"].lower())),
        "b_verify_code": code_in(sink.wait_for(channel_value)[0]),
    }


def _b_mfa_attempt_code(http: httpx.Client, b: Project) -> dict[str, str]:
    """A live MFA attempt code of B: a TOTP user of B passed its password."""
    email = unique_email("b-secret-mfa")
    password = "b-secret-mfa-password-1"
    create_user(
        http,
        b,
        primary_email=email,
        primary_email_auth_enabled=True,
        password=password,
        totp_secret_base64=base64.b64encode(os.urandom(20)).decode(),
    )
    r = sign_in_with_password(http, b, email, password)
    assert r.headers.get("x-stack-known-error") == "MULTI_FACTOR_AUTHENTICATION_REQUIRED", r.text
    return {"b_mfa_attempt_code": r.json()["details"]["attempt_code"]}


def _b_oauth_account(http: httpx.Client, b: Project, user: User) -> dict[str, str]:
    """A spotify account linked to B's user (its row id, and the provider's account id)."""
    account_id = "b-secret-spotify-account"
    r = http.post(
        "/api/v1/oauth-providers",
        headers=b.headers("server"),
        json={"user_id": user.id, "provider_config_id": "spotify", "account_id": account_id,
              "allow_sign_in": True, "allow_connected_accounts": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return {"b_oauth_account": r.json()["id"], "b_oauth_account_id": account_id}


@pytest.fixture(scope="module")
def world(api: ApiServer, mail_worker: WorkerProcess, mail_sink: MailSink) -> Iterator[World]:
    # Both send through the session's sink as their own server: send-email needs a custom one.
    config = {**ENABLED, **custom_server_config(mail_sink)}
    a, b = create_project(api.database_url, config), create_project(api.database_url, config)
    with api.client() as http:
        b_email = unique_email("b-secret")
        b_tokens = sign_up(http, b, b_email)
        http.patch(
            f"/api/v1/users/{b_tokens['user_id']}",
            headers=b.headers("server"),
            json={"display_name": "B Secret Person", "primary_email_verified": True},
        )
        b_user = User(
            b_tokens["user_id"], b_email, b_tokens["access_token"], b_tokens["refresh_token"]
        )
        team = create_team(http, b, b_user, display_name="B Secret Team")
        define(http, b, "team", "b_only_team")
        define(http, b, "project", "b_only_project")
        http.post(
            f"/api/v1/project-permissions/{b_user.id}/b_only_project",
            headers=b.headers("server"),
            json={},
        )
        channel_value = unique_email("b-secret-channel")
        channel = http.post(
            "/api/v1/contact-channels",
            headers=b.headers("server"),
            json={
                "user_id": b_user.id,
                "value": channel_value,
                "type": "email",
                "used_for_auth": False,
            },
        ).json()
        user_key = http.post(
            "/api/v1/user-api-keys",
            headers=b.headers("server"),
            json={"description": "B secret key", "expires_at_millis": None, "user_id": b_user.id},
        ).json()
        team_key = http.post(
            "/api/v1/team-api-keys",
            headers=b.headers("server"),
            json={
                "description": "B secret team key",
                "expires_at_millis": None,
                "team_id": team["id"],
            },
        ).json()
        invited = unique_email("b-secret-invitee")
        invitation = http.post(
            "/api/v1/team-invitations/send-code",
            headers=b.headers("server"),
            json={"team_id": team["id"], "email": invited, "callback_url": CALLBACK},
        ).json()
        b_session = http.get(
            "/api/v1/auth/sessions", headers=b.headers("server"), params={"user_id": b_user.id}
        ).json()["items"][0]["id"]
        # A's user has verified the very address B invited: the invitation is still B's.
        a_user = new_user(http, a, primary_email=invited)
        a_team = create_team(http, a, a_user, display_name="A Team")
        ids: dict[str, str] = {
            "a_user": a_user.id,
            "a_refresh_token": a_user.refresh_token,
            "a_team": a_team["id"],
            "b_user": b_user.id,
            "b_project": b.id,
            "b_email": b_email,
            "b_team": team["id"],
            "b_channel": channel["id"],
            "b_user_key": user_key["id"],
            "b_user_key_value": user_key["value"],
            "b_team_key": team_key["id"],
            "b_team_key_value": team_key["value"],
            "b_invitation": invitation["id"],
            "b_session": b_session,
            "b_refresh_token": b_user.refresh_token,
            "b_code": code_in(mail_sink.wait_for(invited)[0]),  # the e-mailed link's code
            **_b_emailed_codes(http, b, mail_sink, b_user, channel, channel_value),
            **_b_mfa_attempt_code(http, b),
            "b_template": http.post(
                "/api/v1/internal/email-templates",
                headers=b.headers("admin"),
                json={"display_name": "B secret template", "subject": "s", "html": "<p>h</p>"},
            ).json()["id"],
            "b_key_set": http.get("/api/v1/internal/api-keys", headers=b.headers("admin")).json()[
                "items"
            ][0]["id"],
            **_b_oauth_account(http, b, b_user),
            **b_session_replay(http, b, b_user.access_token),
            **b_passkey_ids(http, b, b_user.access_token),
            **b_cli_attempt(http, b),
        }
        secrets = [
            "B Secret Person",
            "B Secret Team",
            "B secret key",
            "B secret page",
            b_email,
            channel_value,
            user_key["value"],
            team_key["value"],
            "b_only_team",
            "b_only_project",
            "B secret template",
            b.id,
            *(v for k, v in ids.items() if k.startswith("b_")),
        ]
        ids["b_outbox"] = http.get("/api/v1/emails/outbox", headers=b.headers("server")).json()[
            "items"
        ][0]["id"]
        endpoint = http.post(
            "/api/v1/internal/webhooks/endpoints",
            headers=b.headers("admin"),
            json={"url": B_WEBHOOK_URL, "description": "B secret endpoint"},
        ).json()
        ids["b_endpoint"] = endpoint["id"]
        ids["b_message"] = (
            "msg_"
            + query_value(
                api.database_url,
                "SELECT event_id FROM webhook_events WHERE project_id = %s ORDER BY id LIMIT 1",
                (b.id,),
            ).hex
        )
        secrets += [endpoint["id"], endpoint["secret"], B_WEBHOOK_URL, "B secret endpoint"]
        ids["b_external_db"] = "b_secret_db"
        entry = {"type": "postgres", "connectionString": B_DATABASE_URL}
        r = http.patch(
            "/api/v1/internal/config/override/environment",
            headers=b.headers("admin"),
            json={
                "config_override_string": json.dumps(
                    {"dbSync.externalDatabases.b_secret_db": entry}
                )
            },
        )
        assert r.status_code == 200, r.text
        secrets += ["db.b-secret.invalid", "b_secret_reader", "b-secret-db-password"]
        audit_ids, audit_secrets = b_audit_entries(http, b, b_user.id)
        ids.update(audit_ids)
        secrets += audit_secrets
        email_ids, email_secrets = b_email_theme_and_draft(http, b)
        ids.update(email_ids)
        secrets += [*email_secrets, *email_ids.values()]
        ids["a_draft"] = http.post(
            "/api/v1/internal/email-drafts", headers=a.headers("admin"), json={"display_name": "A"}
        ).json()["id"]
        yield World(a, b, a_user, ids, secrets, _snapshot(http, b, ids))


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in ids.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _headers(project: Project, as_: As, user: User, extra: dict[str, str]) -> dict[str, str]:
    headers = project.headers(as_)
    if as_ == "client":
        headers["x-stack-access-token"] = user.access_token
    return {**headers, **extra}


def _send(
    http: httpx.Client, probe: Probe, world: World, headers: dict[str, str]
) -> httpx.Response:
    return http.request(
        probe.method,
        _fill(probe.path, world.ids),
        params=_fill(probe.params, world.ids),
        json=_fill(probe.body, world.ids),
        headers=_fill(headers, world.ids),
    )


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_a_naming_bs_ids_gets_no_data(http: httpx.Client, world: World, probe: Probe) -> None:
    r = _send(http, probe, world, _headers(world.a, probe.as_, world.a_user, probe.headers))
    assert r.status_code < 500, r.text
    if probe.expect == "denied":
        assert 400 <= r.status_code < 500, (
            f"expected not-found/forbidden, got {r.status_code} {r.text}"
        )
        # A malformed probe would be refused without testing isolation at all.
        assert r.headers.get("x-stack-known-error") != "SCHEMA_ERROR", r.text
    else:
        assert 200 <= r.status_code < 300, r.text
        if probe.expect == "empty":
            assert r.json()["items"] == [], r.text
    sent = json.dumps([_fill(x, world.ids) for x in (probe.path, probe.params, probe.body)])
    for secret in world.secrets:
        if secret not in sent:  # an id or value A itself sent may be echoed back in an error
            assert secret not in r.text, f"B's {secret!r} leaked: {r.text}"


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_as_keys_and_tokens_do_not_open_project_b(
    http: httpx.Client, world: World, probe: Probe
) -> None:
    """The same request aimed at B (B's project id): A's keys and A's user token are refused."""
    headers = world.a.headers(probe.as_)
    headers["x-stack-project-id"] = world.b.id
    if probe.as_ == "client":
        # B's real publishable key, but A's user token: the token belongs to another project.
        headers["x-stack-publishable-client-key"] = world.b.publishable_client_key
        headers["x-stack-access-token"] = world.a_user.access_token
    expected = {
        "client": "INVALID_PROJECT_FOR_ACCESS_TOKEN",
        "server": "INVALID_SECRET_SERVER_KEY",
        "admin": "INVALID_SUPER_SECRET_ADMIN_KEY",
    }[probe.as_]
    r = _send(http, probe, world, {**headers, **probe.headers})
    assert r.status_code == 401, r.text
    assert r.headers["x-stack-known-error"] == expected


def test_b_is_untouched(http: httpx.Client, world: World) -> None:
    assert _snapshot(http, world.b, world.ids) == world.b_snapshot
    # B's own credentials still work on everything the probes named.
    check = http.post(
        "/api/v1/user-api-keys/check",
        headers=world.b.headers("server"),
        json={"api_key": world.ids["b_user_key_value"]},
    )
    assert check.status_code == 200, check.text


def test_every_route_is_in_the_matrix() -> None:
    probed = {(p.method, p.route) for p in PROBES}
    registered = {
        (method, path)
        for handler in discover_routes()
        for path in handler.paths
        for method in handler.http_methods
        if method not in ("OPTIONS", "HEAD")
    }
    missing = sorted(registered - probed - set(EXEMPT))
    assert not missing, (
        "routes missing from the tenant isolation matrix (add a Probe naming another project's "
        f"ids, or an EXEMPT entry saying why none can be named): {missing}"
    )
    stale = sorted((probed | set(EXEMPT)) - registered)
    assert not stale, f"matrix entries for routes that do not exist: {stale}"


@pytest.mark.parametrize(
    "probe", [p for p in PROBES if "{b_" in p.path or "{a_" in p.path], ids=lambda p: p.id
)
def test_malformed_ids_get_a_client_error_never_a_500(
    http: httpx.Client, world: World, probe: Probe
) -> None:
    """The same probes with every id in the path replaced by hostile text."""
    hostile = dict.fromkeys(world.ids, "x' OR '1'='1")
    path = _fill(probe.path, hostile)
    r = http.request(
        probe.method,
        path,
        params=_fill(probe.params, world.ids),
        json=_fill(probe.body, world.ids),
        headers=_fill(_headers(world.a, probe.as_, world.a_user, probe.headers), world.ids),
    )
    assert 400 <= r.status_code < 500, r.text
