"""The config override API (contract §1.5, §10): levels, PUT and PATCH, resets, access, refusals."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, sign_up
from tests.conftest import Project

CONFIG = "/api/v1/internal/config"
SOURCE = "/api/v1/internal/config/source"
TEAMS, PERSONAL = "teams.allowClientTeamCreation", "teams.createPersonalTeamOnSignUp"
DELETION = "users.allowClientUserDeletion"
GITHUB = {
    "type": "pushed-from-github",
    "owner": "org",
    "repo": "repo",
    "branch": "main",
    "commit_hash": "abc123",
    "config_file_path": "stack.config.ts",
}


def override_path(level: str) -> str:
    return f"{CONFIG}/override/{level}"


def stored(http: httpx.Client, project: Project, level: str) -> dict[str, Any]:
    r = http.get(override_path(level), headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    value: dict[str, Any] = json.loads(r.json()["config_string"])
    return value


def rendered(http: httpx.Client, project: Project) -> dict[str, Any]:
    r = http.get(CONFIG, headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    value: dict[str, Any] = json.loads(r.json()["config_string"])
    return value


def at(config: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        config = config[part]
    return config


def write(
    http: httpx.Client,
    project: Project,
    method: str,
    level: str,
    config: Any,
    as_: str = "admin",
    **body: Any,
) -> httpx.Response:
    """PATCH or PUT ``config`` (serialised unless already a string) on ``level``."""
    text = config if isinstance(config, str) else json.dumps(config)
    key = "config_override_string" if method == "PATCH" else "config_string"
    return http.request(
        method, override_path(level), headers=project.headers(as_), json={key: text, **body}
    )


def ok(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}


def patched(before: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What PATCH stores: each written key replaces the stored keys at or below its path."""
    kept = {
        key: value
        for key, value in before.items()
        if not any(key == path or key.startswith(path + ".") for path in config)
    }
    return {**kept, **config}


def reset(http: httpx.Client, project: Project, level: str, keys: list[str]) -> httpx.Response:
    return http.post(
        f"{override_path(level)}/reset-keys", headers=project.headers("admin"), json={"keys": keys}
    )


# (level, method, config, body extras, the level's stored override after, rendered path: value)
WRITES = [
    ("environment", "PATCH", {"auth.allowSignUp": False}, {}, None, {"auth.allowSignUp": False}),
    ("environment", "PATCH", {"teams": {"allowClientTeamCreation": True}}, {}, None,
     {"teams.allowClientTeamCreation": True, "teams.createPersonalTeamOnSignUp": False}),
    ("environment", "PATCH", {"auth": {"oauth.providers.github": {"type": "github",
     "allowSignIn": True}}}, {}, None,
     {"auth.oauth.providers.github.isShared": True, "auth.oauth.providers.github.allowSignIn": True,
      "auth.password.allowSignIn": False}),
    ("environment", "PUT", {"auth.otp.allowSignIn": True}, {}, {"auth.otp.allowSignIn": True},
     {"auth.otp.allowSignIn": True, "auth.password.allowSignIn": False}),
    ("branch", "PATCH", {"users.allowClientUserDeletion": True}, {},
     {"users.allowClientUserDeletion": True}, {"users.allowClientUserDeletion": True}),
    ("branch", "PUT", {"apiKeys": {"enabled": {"team": True}}}, {"source": GITHUB},
     {"apiKeys": {"enabled": {"team": True}}}, {"apiKeys.enabled.team": True,
                                                "apiKeys.enabled.user": False}),
    ("project", "PATCH", {"project.requirePublishableClientKey": True}, {},
     {"project.requirePublishableClientKey": True}, {"project.requirePublishableClientKey": True}),
    ("project", "PUT", {"sourceOfTruth": {"type": "hosted"}}, {},
     {"sourceOfTruth": {"type": "hosted"}}, {"sourceOfTruth.type": "hosted"}),
]  # fmt: skip


@pytest.mark.parametrize(("level", "method", "config", "extra", "after", "expect"), WRITES)
def test_a_write_is_stored_on_its_level_and_rendered(
    http: httpx.Client,
    project: Project,
    level: str,
    method: str,
    config: dict[str, Any],
    extra: dict[str, Any],
    after: dict[str, Any] | None,
    expect: dict[str, Any],
) -> None:
    before = stored(http, project, level)
    ok(write(http, project, method, level, config, **extra))
    # PATCH keeps what the level held besides the keys it covers; PUT replaces the level.
    assert stored(http, project, level) == (after if after is not None else patched(before, config))
    config_now = rendered(http, project)
    for path, value in expect.items():
        assert at(config_now, path) == value, path


def test_patch_keys_replace_the_stored_keys_they_cover(
    http: httpx.Client, project: Project
) -> None:
    ok(write(http, project, "PUT", "environment", {TEAMS: True}))
    nested = {"teams": {"createPersonalTeamOnSignUp": True}}
    ok(write(http, project, "PATCH", "environment", nested))
    assert stored(http, project, "environment") == nested
    ok(write(http, project, "PATCH", "environment", {TEAMS: True}))
    teams = rendered(http, project)["teams"]
    assert teams == {"allowClientTeamCreation": True, "createPersonalTeamOnSignUp": True}
    ok(write(http, project, "PATCH", "environment", {"teams": None}))
    assert rendered(http, project)["teams"]["allowClientTeamCreation"] is False


# (level, the level's override before, keys to reset, its override after)
RESETS = [
    ("environment", {TEAMS: True, DELETION: True}, [TEAMS], {DELETION: True}),
    ("environment", {TEAMS: True, PERSONAL: True, DELETION: True}, ["teams"], {DELETION: True}),
    ("environment",
     {"teams": {"allowClientTeamCreation": True, "createPersonalTeamOnSignUp": True}},
     [TEAMS], {"teams": {"createPersonalTeamOnSignUp": True}}),
    ("environment", {"teams": {"allowClientTeamCreation": True}, "auth.allowSignUp": False},
     [TEAMS], {"auth.allowSignUp": False}),
    ("environment", {"auth": {"oauth.providers.google": {"type": "google"}, "allowSignUp": False}},
     ["auth.oauth.providers.google", "auth.passkey"], {"auth": {"allowSignUp": False}}),
    ("environment", {"auth.allowSignUp": False}, ["nonExistent.key"], {"auth.allowSignUp": False}),
    ("environment", {"auth.allowSignUp": False}, [], {"auth.allowSignUp": False}),
    ("branch", {TEAMS: True, DELETION: True}, ["users"], {TEAMS: True}),
]  # fmt: skip


@pytest.mark.parametrize(("level", "before", "keys", "after"), RESETS)
def test_reset_keys_removes_keys_flat_or_nested(
    http: httpx.Client,
    project: Project,
    level: str,
    before: dict[str, Any],
    keys: list[str],
    after: dict[str, Any],
) -> None:
    ok(write(http, project, "PUT", level, before, source={"type": "unlinked"}))
    ok(reset(http, project, level, keys))
    assert stored(http, project, level) == after


def test_levels_stack_and_a_reset_lets_the_lower_level_show(
    http: httpx.Client, project: Project
) -> None:
    ok(write(http, project, "PATCH", "branch", {"teams.allowClientTeamCreation": True}))
    ok(write(http, project, "PATCH", "environment", {"teams.allowClientTeamCreation": False}))
    assert rendered(http, project)["teams"]["allowClientTeamCreation"] is False
    ok(reset(http, project, "environment", ["teams.allowClientTeamCreation"]))
    assert rendered(http, project)["teams"]["allowClientTeamCreation"] is True


# (method, path, body, access type, expected status, known error or plain text)
ACCESS = [
    ("GET", CONFIG, None, "client", 401, "INSUFFICIENT_ACCESS_TYPE"),
    ("GET", CONFIG, None, "server", 401, "INSUFFICIENT_ACCESS_TYPE"),
    ("GET", CONFIG, None, "admin", 200, None),
    ("GET", SOURCE, None, "server", 401, "INSUFFICIENT_ACCESS_TYPE"),
    ("DELETE", SOURCE, None, "server", 401, "INSUFFICIENT_ACCESS_TYPE"),
    ("GET", override_path("environment"), None, "client", 401, "INSUFFICIENT_ACCESS_TYPE"),
    ("PATCH", override_path("branch"), {"config_override_string": "{}"}, "client", 401,
     "INSUFFICIENT_ACCESS_TYPE"),
    ("GET", override_path("environment"), None, "server", 403, "Server access can only manage"),
    ("GET", override_path("project"), None, "server", 403, "Server access can only manage"),
    ("PATCH", override_path("environment"), {"config_override_string": "{}"}, "server", 403,
     "Server access can only manage"),
    ("PUT", override_path("project"), {"config_string": "{}"}, "server", 403,
     "Server access can only manage"),
    ("GET", override_path("branch"), None, "server", 200, None),
    ("PATCH", override_path("branch"), {"config_override_string": "{}"}, "server", 200, None),
    ("PUT", override_path("branch"), {"config_string": "{}", "source": {"type": "unlinked"}},
     "server", 200, None),
    ("POST", override_path("environment") + "/reset-keys", {"keys": []}, "server", 401,
     "INSUFFICIENT_ACCESS_TYPE"),
    ("POST", override_path("branch") + "/reset-keys", {"keys": []}, "client", 401,
     "INSUFFICIENT_ACCESS_TYPE"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "as_", "status", "error"), ACCESS)
def test_access_types(
    http: httpx.Client,
    project: Project,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    as_: str,
    status: int,
    error: str | None,
) -> None:
    r = http.request(method, path, headers=project.headers(as_), json=body)
    if error is None:
        assert r.status_code == status, r.text
    elif error.isupper():
        allowed = ["admin"] if path in (CONFIG, SOURCE) or "reset-keys" in path else None
        details = assert_known_error(r, error, status)["details"]
        assert details["actual_access_type"] == as_
        assert details["allowed_access_types"] == (allowed or ["server", "admin"])
    else:
        assert r.status_code == status, r.text
        assert r.headers.get("x-stack-known-error") is None
        assert error in r.text


# (level, method, config string, extras, expected status, known error, words of the message)
INVALID = [
    ("environment", "PATCH", '{"nonExistentField": 1}', {}, 400, "SCHEMA_ERROR",
     'The key "nonExistentField" is not valid'),
    ("environment", "PATCH", '{"auth.allowSignUp": "no"}', {}, 400, "SCHEMA_ERROR",
     "auth.allowSignUp must be a boolean"),
    ("environment", "PATCH", '{"emails": {"server": {"port": "25"}}}', {}, 400, "SCHEMA_ERROR",
     "emails.server.port must be a port"),
    ("environment", "PATCH", '{"auth.oauth.accountMergeStrategy": "merge"}', {}, 400,
     "SCHEMA_ERROR", "must be one of the following values: link_method"),
    ("environment", "PATCH", '{"teams": {"allowClientTeamCreation": true, "colour": 1}}', {},
     400, "SCHEMA_ERROR", 'The key "teams.colour" is not valid'),
    ("environment", "PATCH", '{"domains.trustedDomains.a": {"baseUrl": "https://u:p@a.example"}}',
     {}, 400, "SCHEMA_ERROR", "must not carry credentials"),
    ("environment", "PATCH", '{"emails.server": {"isShared": false, "host": "127.0.0.1"}}', {},
     400, "SCHEMA_ERROR", "SMTP server must be on a public network"),
    ("environment", "PATCH", '{"emails.selectedThemeId": "a\\u0000b"}', {}, 400, "SCHEMA_ERROR",
     "NUL"),
    ("project", "PATCH", '{"auth.allowSignUp": false}', {}, 400, "SCHEMA_ERROR",
     '"auth.allowSignUp" cannot be set on the project level'),
    ("branch", "PATCH", '{"auth.oauth.providers.google": {"type": "google", "clientSecret": "s"}}',
     {}, 400, "SCHEMA_ERROR", "clientSecret\" cannot be set on the branch level"),
    ("branch", "PATCH", '{"sourceOfTruth.type": "hosted"}', {}, 400, "SCHEMA_ERROR",
     "cannot be set on the branch level"),
    ("environment", "PATCH", "[1]", {}, 400, "SCHEMA_ERROR", "must be a JSON object"),
    ("environment", "PATCH", "{ invalid json }", {}, 400, None, "Invalid config JSON"),
    ("branch", "PUT", "not json", {"source": {"type": "unlinked"}}, 400, None,
     "Invalid config JSON"),
    ("branch", "PUT", "{}", {}, 400, None, "source is required"),
    ("branch", "PUT", "{}", {"source": {"type": "invalid-type"}}, 400, "SCHEMA_ERROR", ""),
    ("branch", "PUT", "{}", {"source": {"type": "pushed-from-github", "owner": "o"}}, 400,
     "SCHEMA_ERROR", ""),
    ("invalid-level", "PATCH", "{}", {}, 400, "SCHEMA_ERROR", ""),
]  # fmt: skip


@pytest.mark.parametrize(("level", "method", "text", "extra", "status", "code", "words"), INVALID)
def test_invalid_writes_are_refused_and_change_nothing(
    http: httpx.Client,
    project: Project,
    level: str,
    method: str,
    text: str,
    extra: dict[str, Any],
    status: int,
    code: str | None,
    words: str,
) -> None:
    before = rendered(http, project)
    r = write(http, project, method, level, text, **extra)
    if code is not None:
        assert words in assert_known_error(r, code, status)["error"]
    else:
        assert r.status_code == status, r.text
        assert r.headers.get("x-stack-known-error") is None
        assert words in r.text
    assert rendered(http, project) == before


def test_reset_keys_is_not_offered_on_the_project_level(
    http: httpx.Client, project: Project
) -> None:
    assert_known_error(reset(http, project, "project", ["sourceOfTruth"]), "SCHEMA_ERROR", 400)


def test_a_change_is_effective_on_the_next_request(http: httpx.Client, project: Project) -> None:
    sign_up(http, project)
    ok(write(http, project, "PATCH", "environment", {"auth.allowSignUp": False}))
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=project.headers(),
        json={"email": "closed@example.com", "password": "correct-horse-battery-1"},
    )
    assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)
    ok(reset(http, project, "environment", ["auth.allowSignUp"]))
    sign_up(http, project)
    # A project-level setting applies to request authentication as well.
    ok(write(http, project, "PATCH", "project", {"project.requirePublishableClientKey": True}))
    keyless = project.headers()
    del keyless["x-stack-publishable-client-key"]
    r = http.get("/api/v1/projects/current", headers=keyless)
    assert_known_error(r, "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT", 401)


def test_a_projects_override_never_reaches_another_project(
    http: httpx.Client, make_project: Any
) -> None:
    a, b = make_project(), make_project()
    b_before = {level: stored(http, b, level) for level in ("project", "branch", "environment")}
    b_config = rendered(http, b)
    ok(write(http, a, "PATCH", "environment", {"auth.allowSignUp": False}))
    ok(write(http, a, "PUT", "branch", {"users.allowClientUserDeletion": True}, source=GITHUB))
    ok(write(http, a, "PATCH", "project", {"project.requirePublishableClientKey": True}))
    assert rendered(http, b) == b_config
    assert {level: stored(http, b, level) for level in b_before} == b_before
    assert http.get(SOURCE, headers=b.headers("admin")).json() == {"source": {"type": "unlinked"}}
    sign_up(http, b)


def test_branch_source_is_recorded_kept_and_unlinked(http: httpx.Client, project: Project) -> None:
    admin = project.headers("admin")
    assert http.get(SOURCE, headers=admin).json() == {"source": {"type": "unlinked"}}
    ok(write(http, project, "PUT", "branch", {TEAMS: True}, source=GITHUB))
    ok(write(http, project, "PATCH", "branch", {"users.allowClientUserDeletion": True}))
    assert http.get(SOURCE, headers=admin).json() == {"source": GITHUB}
    ok(http.delete(SOURCE, headers=admin))
    assert http.get(SOURCE, headers=admin).json() == {"source": {"type": "unlinked"}}
    assert stored(http, project, "branch") == {
        "teams.allowClientTeamCreation": True,
        "users.allowClientUserDeletion": True,
    }


def test_the_legacy_config_is_a_view_over_the_levels(http: httpx.Client, project: Project) -> None:
    admin = project.headers("admin")
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={"config": {"client_team_creation_enabled": True}},
    )
    assert r.status_code == 200, r.text
    assert stored(http, project, "environment")["teams.allowClientTeamCreation"] is True
    ok(write(http, project, "PATCH", "branch", {"users.allowClientUserDeletion": True}))
    ok(write(http, project, "PATCH", "environment", {"auth.otp.allowSignIn": True}))
    legacy = http.get("/api/v1/internal/projects/current", headers=admin).json()["config"]
    assert legacy["client_team_creation_enabled"] is True
    assert legacy["client_user_deletion_enabled"] is True
    assert legacy["magic_link_enabled"] is True


def test_the_rendered_config_has_the_schema_defaults(http: httpx.Client, project: Project) -> None:
    # Served under /api/latest as well, as every route is.
    r = http.get("/api/latest/internal/config", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    config = json.loads(r.json()["config_string"])
    assert config["auth"]["signUpRules"] == {}
    assert config["auth"]["signUpRulesDefaultAction"] == "allow"
    assert config["auth"]["password"]["allowSignIn"] is True  # what a new project gets
    assert config["auth"]["oauth"] == {"accountMergeStrategy": "link_method", "providers": {}}
    assert config["users"] == {"allowClientUserDeletion": False}
    assert config["emails"]["server"] == {"isShared": True}
