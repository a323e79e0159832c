"""Validation order and codes, as upstream answers them: one case per row.

A SCHEMA_ERROR's text is ``Request validation failed on METHOD /path:`` and a ``  - `` line per
problem naming its location (``body.``, ``query.``, ``params.``, ``auth.``); ``details.message``
is the same text. A user the request schema requires is part of the request's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.helpers import PASSWORD, as_user, jwt_parts, sign_up, unique_email
from tests.conftest import Project

# Who sends a case: a client or server key alone, or the signed-up user's client session.
Caller = str  # "client" | "server" | "user" | "internal client"
BCRYPT_COST_17 = "$2a$17$VIhIOofSMqGdGlL4wzE//e.77dAQGqNtF/1dT7bqCrVtQuInWy2qi"
# 45 characters, but not ones any code has (upstream's own "doesn't exist" example).
UNKNOWN_CODE = "invalid-attempt-code-123123123123123123123123"


@dataclass(frozen=True)
class Case:
    """One request and its expected answer. ``{user_id}``, ``{current_session}`` and
    ``{other_session}`` in the path or params name the signed-up user's."""

    name: str
    method: str
    path: str
    caller: Caller
    status: int
    code: str | None = None  # None: a plain (text) answer
    lines: list[str] | None = None  # a SCHEMA_ERROR's problem lines, in order
    text: str | None = None  # the start of a plain answer
    body: Any = field(default=None)
    params: dict[str, str] = field(default_factory=dict)


SIGN_UP = "/api/v1/auth/password/sign-up"
NEW_USER = {"email": "v@example.com", "password": PASSWORD}

CASES = [
    # --- 1. a user the request schema requires is part of its shape --------------------------
    Case("password update needs a user", "POST", "/api/v1/auth/password/update", "client", 400,
         "SCHEMA_ERROR", ["auth.user must be defined"],
         body={"old_password": PASSWORD, "new_password": "another-password-1"}),
    Case("password set needs a user", "POST", "/api/v1/auth/password/set", "client", 400,
         "SCHEMA_ERROR", ["auth.user must be defined"], body={"password": "another-password-1"}),
    Case("the deprecated send-verification-code needs a user", "POST",
         "/api/v1/contact-channels/send-verification-code", "client", 400, "SCHEMA_ERROR",
         ["auth.user must be defined"],
         body={"email": "v@example.com", "callback_url": "http://localhost:3000/verify"}),
    Case("transfer needs an internal user", "POST", "/api/v1/internal/projects/transfer",
         "internal client", 400, "SCHEMA_ERROR", ["auth.user must be defined"],
         body={"project_id": "x", "new_team_id": "y"}),
    Case("transfer needs the internal project and a user", "POST",
         "/api/v1/internal/projects/transfer", "server", 400, "SCHEMA_ERROR",
         ["auth.project.id must be one of the following values: internal",
          "auth.user must be defined"], body={"project_id": "x", "new_team_id": "y"}),
    # Where upstream's handler checks for the user itself, its own error stays.
    Case("invitation accept checks its user", "POST", "/api/v1/team-invitations/accept",
         "client", 401, "USER_AUTHENTICATION_REQUIRED", body={"code": "a" * 45}),
    Case("the project list checks its user", "GET", "/api/v1/internal/projects",
         "internal client", 401, "USER_AUTHENTICATION_REQUIRED"),
    Case("users/me without a user", "GET", "/api/v1/users/me", "client", 400,
         "CANNOT_GET_OWN_USER_WITHOUT_USER"),
    Case("sign-out without a session", "DELETE", "/api/v1/auth/sessions/current", "client", 401,
         "ACCESS_TOKEN_EXPIRED"),
    # --- 2. upstream's wording, one line per problem ----------------------------------------
    Case("missing field", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR",
         ["body.password must be defined"], body={"email": "v@example.com"}),
    Case("unknown field", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR",
         ["body contains unknown properties: favourite_colour"],
         body={**NEW_USER, "favourite_colour": "red"}),
    Case("wrong type", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR",
         ["body.email must be a `string` type, but the final value was: `12`."],
         body={"email": 12, "password": PASSWORD}),
    Case("not an email", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR",
         ["body.email must be a valid email"], body={"email": "nobody", "password": PASSWORD}),
    Case("no body", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR", ["body must be defined"]),
    Case("a body that is not an object", "POST", SIGN_UP, "client", 400, "SCHEMA_ERROR",
         ['body must be a `object` type, but the final value was: `"hello"`.'], body="hello"),
    Case("a number above its bound", "POST", "/api/v1/auth/sessions", "server", 400,
         "SCHEMA_ERROR",
         ["body.expires_in_millis must be less than or equal to 31708800000"],
         body={"user_id": "{user_id}", "expires_in_millis": 370 * 86_400_000}),
    Case("a nested field", "POST", "/api/v1/users", "server", 400, "SCHEMA_ERROR",
         ["body.risk_scores.sign_up.bot must be less than or equal to 100"],
         body={"risk_scores": {"sign_up": {"bot": 101, "free_trial_abuse": 0}}}),
    Case("unknown field of a body read by the handler", "PATCH", "/api/v1/users/me", "user",
         400, "SCHEMA_ERROR", ["body contains unknown properties: server_metadata"],
         body={"display_name": "Johnny", "server_metadata": {"key": "value"}}),
    Case("unknown query parameter", "GET", "/api/v1/projects/current", "client", 400,
         "SCHEMA_ERROR", ["query contains unknown properties: surprise"],
         params={"surprise": "1"}),
    Case("missing query parameter", "GET", "/api/v1/auth/sessions", "server", 400,
         "SCHEMA_ERROR", ["query.user_id must be defined"]),
    Case("query value out of its set", "GET", "/api/v1/users", "server", 400, "SCHEMA_ERROR",
         ["query.include_anonymous must be one of the following values: true, false"],
         params={"include_anonymous": "maybe"}),
    Case("path parameter that is not a UUID", "GET", "/api/v1/teams/not-a-uuid", "server", 400,
         "SCHEMA_ERROR", ["params.team_id must be a valid UUID"]),
    # --- 3. the other differences ----------------------------------------------------------
    Case("session delete needs user_id", "DELETE", "/api/v1/auth/sessions/{other_session}",
         "user", 400, "SCHEMA_ERROR", ["query.user_id must be defined"]),
    Case("a client deletes its other session by user_id=me", "DELETE",
         "/api/v1/auth/sessions/{other_session}", "user", 200, params={"user_id": "me"}),
    Case("a client deletes its other session by its id", "DELETE",
         "/api/v1/auth/sessions/{other_session}", "user", 200, params={"user_id": "{user_id}"}),
    Case("the current session cannot be deleted", "DELETE",
         "/api/v1/auth/sessions/{current_session}", "user", 400, "CANNOT_DELETE_CURRENT_SESSION",
         params={"user_id": "me"}),
    Case("an unknown code of a code's length", "POST", "/api/v1/contact-channels/verify",
         "client", 404, "VERIFICATION_CODE_NOT_FOUND", body={"code": UNKNOWN_CODE}),
    Case("a code of the wrong length", "POST", "/api/v1/contact-channels/verify", "client", 400,
         "SCHEMA_ERROR", ["body.code must be exactly 45 characters"], body={"code": "abc"}),
    Case("an over-costly password hash", "POST", "/api/v1/users", "server", 400,
         text="Invalid password hash.",
         body={"primary_email": "v@example.com", "password_hash": BCRYPT_COST_17}),
    Case("an unsupported password hash", "POST", "/api/v1/users", "server", 400,
         text="Invalid password hash.", body={"password_hash": "sha1$salt$" + "ab" * 20}),
    Case("a password and a hash", "POST", "/api/v1/users", "server", 400,
         text="Cannot set both password and password_hash at the same time.",
         body={"password": PASSWORD, "password_hash": BCRYPT_COST_17}),
    Case("email sign-in without an email", "POST", "/api/v1/users", "server", 400,
         text="primary_email_auth_enabled cannot be true without primary_email",
         body={"primary_email_auth_enabled": True}),
    Case("a user read accepts include_anonymous", "GET", "/api/v1/users/{user_id}", "server",
         200, params={"include_anonymous": "true"}),
    Case("an empty profile image", "PATCH", "/api/v1/users/me", "user", 400, "SCHEMA_ERROR",
         ["body.profile_image_url is not a valid URL"], body={"profile_image_url": ""}),
    Case("an empty profile image at creation", "POST", "/api/v1/users", "server", 400,
         "SCHEMA_ERROR", ["body.profile_image_url is not a valid URL"],
         body={"profile_image_url": ""}),
    Case("a client's linked profile image", "PATCH", "/api/v1/users/me", "user", 400,
         text="Invalid profile image URL",
         body={"profile_image_url": "https://example.com/me.png"}),
]  # fmt: skip


@dataclass(frozen=True)
class World:
    project: Project
    internal: Project
    user_id: str
    access_token: str
    current_session: str
    other_session: str

    def headers(self, caller: Caller) -> dict[str, str]:
        if caller == "user":
            return as_user(self.project, self.access_token)
        if caller == "internal client":
            return self.internal.headers("client")
        return self.project.headers(caller)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(
                user_id=self.user_id,
                current_session=self.current_session,
                other_session=self.other_session,
            )
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture
def world(http: httpx.Client, project: Project, internal: Project) -> World:
    """A user signed up twice over: its client session and a second one to delete."""
    email = unique_email("order")
    tokens = sign_up(http, project, email)
    other = http.post(
        "/api/v1/auth/password/sign-in",
        headers=project.headers(),
        json={"email": email, "password": PASSWORD},
    )
    assert other.status_code == 200, other.text
    return World(
        project,
        internal,
        tokens["user_id"],
        tokens["access_token"],
        jwt_parts(tokens["access_token"])[1]["refresh_token_id"],
        jwt_parts(other.json()["access_token"])[1]["refresh_token_id"],
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_request_is_answered_as_upstream(http: httpx.Client, world: World, case: Case) -> None:
    kwargs: dict[str, Any] = {"params": world.fill(case.params)}
    if case.body is not None:
        kwargs["json"] = world.fill(case.body)
    r = http.request(
        case.method, world.fill(case.path), headers=world.headers(case.caller), **kwargs
    )
    assert r.status_code == case.status, r.text
    assert r.headers.get("x-stack-known-error") == case.code, r.text
    body = r.json() if case.code is not None else None
    if case.lines is not None:
        path = httpx.URL(world.fill(case.path)).path
        expected = "\n".join(
            [f"Request validation failed on {case.method} {path}:"]
            + [f"  - {line}" for line in case.lines]
        )
        assert body == {"code": case.code, "details": {"message": expected}, "error": expected}
    if case.text is not None:
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text.startswith(case.text)
