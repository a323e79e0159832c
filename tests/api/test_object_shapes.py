"""Object shapes as upstream sends them (issue 11, item 4): projects, personal teams, the sign-up
country and the default permissions. (The email conflict's normalised details: test_users.py and
test_password.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    admin_headers,
    assert_known_error,
    create_user,
    sign_up,
    unique_email,
)
from tests.api.test_admin_projects import create_owned_project
from tests.conftest import ApiServer, Project, start_api, stop_api
from tests.factories import INTERNAL_TEAM_ID

CURRENT = "/api/v1/internal/projects/current"
LOGOS = ("logo_url", "logo_full_url", "logo_dark_mode_url", "logo_full_dark_mode_url")
# upstream's projectsCrudAdminReadSchema (onboarding_state is optional and unset here)
ADMIN_KEYS = {
    "id", "display_name", "description", *LOGOS, "created_at_millis", "is_production_mode",
    "is_development_environment", "owner_team_id", "onboarding_status", "config",
}  # fmt: skip
ADMIN_CONFIG_KEYS = {
    "allow_localhost", "sign_up_enabled", "credential_enabled", "magic_link_enabled",
    "passkey_enabled", "client_team_creation_enabled", "client_user_deletion_enabled",
    "allow_user_api_keys", "allow_team_api_keys", "oauth_providers", "enabled_oauth_providers",
    "domains", "email_config", "email_theme", "create_team_on_sign_up",
    "team_creator_default_permissions", "team_member_default_permissions",
    "user_default_permissions", "oauth_account_merge_strategy",
}  # fmt: skip
CLIENT_CONFIG_KEYS = {
    "sign_up_enabled", "credential_enabled", "magic_link_enabled", "passkey_enabled",
    "client_team_creation_enabled", "client_user_deletion_enabled", "allow_localhost",
    "allow_user_api_keys", "allow_team_api_keys", "enabled_oauth_providers", "domains",
}  # fmt: skip
DEFAULT_THEME = "1df07ae6-abf3-4a40-83a5-a1a2cbe336ac"
DARK_THEME = "a0172b5d-cff0-463b-83bb-85124697373a"
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAD0lEQVR4AQEEAPv/ALHBwQRaAjRgT7lCAAAAAElFTkSuQmCC"  # noqa: E501


@pytest.fixture
def created(http: httpx.Client, internal: Project, admin_access_token: str) -> dict[str, Any]:
    return create_owned_project(http, internal, admin_access_token, INTERNAL_TEAM_ID)


# --- projects ------------------------------------------------------------------------------------


def test_admin_and_client_project_objects_have_upstreams_fields_and_no_others(
    http: httpx.Client, internal: Project, admin_access_token: str, created: dict[str, Any]
) -> None:
    assert set(created) == ADMIN_KEYS
    assert set(created["config"]) == ADMIN_CONFIG_KEYS
    assert {name: created[name] for name in LOGOS} == dict.fromkeys(LOGOS)
    assert created["is_development_environment"] is False
    assert created["onboarding_status"] == "completed"
    assert created["config"]["email_theme"] == DEFAULT_THEME
    assert created["config"]["create_team_on_sign_up"] is False  # the default for new projects

    admin = admin_headers(created["id"], admin_access_token)
    assert http.get(CURRENT, headers=admin).json() == created
    listed = http.get(
        "/api/v1/internal/projects",
        headers=internal.headers("client", **{"x-stack-access-token": admin_access_token}),
    ).json()["items"]
    assert [p for p in listed if p["id"] == created["id"]] == [created]

    client = {"x-stack-access-type": "client", "x-stack-project-id": created["id"]}
    public = http.get("/api/v1/projects/current", headers=client).json()
    assert set(public) == {"id", "display_name", "config"}
    assert set(public["config"]) == CLIENT_CONFIG_KEYS


def test_logos_are_set_on_create_and_patch_and_cleared_with_null(
    http: httpx.Client, internal: Project, admin_access_token: str
) -> None:
    project = create_owned_project(
        http,
        internal,
        admin_access_token,
        INTERNAL_TEAM_ID,
        logo_url="https://cdn.example.com/logo.png",
        logo_full_dark_mode_url=PNG,
        is_development_environment=True,
        onboarding_status="auth_setup",
    )
    assert project["logo_url"] == "https://cdn.example.com/logo.png"
    stored_logo = project["logo_full_dark_mode_url"]  # the data URL's image, stored
    assert stored_logo.endswith(".png")
    assert f"/images/{project['id']}/" in stored_logo
    assert project["logo_full_url"] is None
    assert project["is_development_environment"] is True
    assert project["onboarding_status"] == "auth_setup"

    admin = admin_headers(project["id"], admin_access_token)
    patch = {"logo_url": None, "logo_dark_mode_url": "https://cdn.example.com/dark.svg"}
    r = http.patch(CURRENT, headers=admin, json={**patch, "onboarding_status": "completed"})
    assert r.status_code == 200, r.text
    got = http.get(CURRENT, headers=admin).json()
    assert got == r.json()
    assert got["logo_url"] is None
    assert got["logo_dark_mode_url"] == "https://cdn.example.com/dark.svg"
    assert got["logo_full_dark_mode_url"] == stored_logo  # untouched
    assert got["onboarding_status"] == "completed"


@pytest.mark.parametrize(
    "body",
    [
        {"logo_url": "not a url"},
        {"logo_full_url": "javascript:alert(1)"},
        {"logo_dark_mode_url": "data:text/html;base64,PGI+aGk8L2I+"},
        {"logo_url": "/relative/logo.png"},
        {"logo_url": "http://cdn.example.com/logo.png"},  # a link must be https
        {"onboarding_status": "halfway"},
        {"is_development_environment": True},  # chosen at creation only
    ],
)
def test_invalid_project_fields_are_schema_errors(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any], body: dict[str, Any]
) -> None:
    admin = admin_headers(created["id"], admin_access_token)
    assert_known_error(http.patch(CURRENT, headers=admin, json=body), "SCHEMA_ERROR", 400)


def test_email_theme_names_a_theme_and_an_unknown_one_is_refused(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any]
) -> None:
    admin = admin_headers(created["id"], admin_access_token)
    r = http.patch(CURRENT, headers=admin, json={"config": {"email_theme": DARK_THEME}})
    assert r.status_code == 200, r.text
    assert http.get(CURRENT, headers=admin).json()["config"]["email_theme"] == DARK_THEME

    r = http.patch(CURRENT, headers=admin, json={"config": {"email_theme": "default-light"}})
    assert (r.status_code, r.text) == (400, "Invalid email theme")  # upstream's plain error
    assert http.get(CURRENT, headers=admin).json()["config"]["email_theme"] == DARK_THEME

    # A theme of the project's own config is a theme too.
    custom = "0b7ef2a6-6b6d-4c47-9d53-5c3f0a1e2b3c"
    override = '{"emails.themes.' + custom + '": {"displayName": "Mine", "tsxSource": "x"}}'
    r = http.patch(
        "/api/v1/internal/config/override/environment",
        headers=admin,
        json={"config_override_string": override},
    )
    assert r.status_code == 200, r.text
    r = http.patch(CURRENT, headers=admin, json={"config": {"email_theme": custom}})
    assert r.json()["config"]["email_theme"] == custom


# --- users ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("personal_teams", [False, True])
def test_server_created_users_get_a_personal_team_only_where_sign_ups_do(
    http: httpx.Client, make_project: Callable[..., Project], personal_teams: bool
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": personal_teams})
    email = unique_email("team")
    user = create_user(http, project, primary_email=email)
    signed_up = sign_up(http, project)
    teams = {
        user_id: http.get(
            "/api/v1/teams", headers=project.headers("server"), params={"user_id": user_id}
        ).json()["items"]
        for user_id in (user["id"], signed_up["user_id"])
    }
    if not personal_teams:
        assert user["selected_team"] is None
        assert teams == {user["id"]: [], signed_up["user_id"]: []}
        return
    assert user["selected_team"]["display_name"] == f"{email}'s Team"
    assert [t["id"] for t in teams[user["id"]]] == [user["selected_team_id"]]
    assert len(teams[signed_up["user_id"]]) == 1


@pytest.fixture(scope="module")
def behind_proxy(migrated_database: str) -> Iterator[ApiServer]:
    """An API that trusts loopback, where the tests connect from, as its proxy."""
    server = start_api(migrated_database, STACK_TRUSTED_PROXY_NETWORKS="127.0.0.1/32")
    try:
        yield server
    finally:
        stop_api(server)


def _country_of(http: httpx.Client, project: Project, user_id: str) -> Any:
    r = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    return r.json()["country_code"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cf-ipcountry": "de"}, "DE"),
        ({"x-vercel-ip-country": "JP"}, "JP"),
        ({"cf-ipcountry": "FR", "x-vercel-ip-country": "JP"}, "FR"),
        ({"cf-ipcountry": "XX", "x-vercel-ip-country": "JP"}, "JP"),  # Cloudflare's unknown
        ({"cf-ipcountry": "USA"}, None),
        ({"cf-ipcountry": "T1"}, None),
        ({}, None),
    ],
)
def test_sign_up_records_the_country_a_trusted_proxy_reports(
    behind_proxy: ApiServer, project: Project, headers: dict[str, str], expected: str | None
) -> None:
    with behind_proxy.client() as http:
        user_id = sign_up(http, project, **headers)["user_id"]
        assert _country_of(http, project, user_id) == expected
        r = http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers(**headers))
        assert r.status_code == 200, r.text
        assert _country_of(http, project, r.json()["user_id"]) == expected


def test_country_headers_are_ignored_without_a_trusted_proxy(
    http: httpx.Client, project: Project
) -> None:
    user_id = sign_up(http, project, **{"cf-ipcountry": "DE", "x-vercel-ip-country": "DE"})[
        "user_id"
    ]
    assert _country_of(http, project, user_id) is None


# --- permissions ---------------------------------------------------------------------------------


def test_default_team_permissions_are_described_as_upstream(
    http: httpx.Client, project: Project
) -> None:
    r = http.get("/api/v1/team-permission-definitions", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    descriptions = {d["id"]: d.get("description") for d in r.json()["items"]}
    assert descriptions == {
        "team_member": "Default permission for team members",
        "team_admin": "Default permission for team admins",
        "$update_team": "Update the team information",
        "$delete_team": "Delete the team",
        "$read_members": "Read and list the other members of the team",
        "$remove_members": "Remove other members from the team",
        "$invite_members": "Invite other users to the team",
        "$manage_api_keys": "Create and manage API keys for the team",
    }
