"""What OAuth keeps (provider tokens, sealed) and how it is configured: the operator's shared
keys and MOCK convention, the seed's providers, a project's provider entries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from authstack_core.crypto.sealing import SealError
from authstack_core.domain.oauth_accounts import token_context, token_sealer
from authstack_core.models.config import ProjectConfig
from authstack_core.models.oauth import provider_config
from authstack_core.settings import Settings
from authstack_migrator.seed import internal_project_override
from tests.api.helpers import assert_known_error
from tests.conftest import ApiServer, create_project, settings_env
from tests.factories import query_rows
from tests.oauth.flow import Browser, Flow, OAuth, code_from, shared, unique_login


def test_provider_tokens_are_sealed_at_rest_and_open_only_in_their_row(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    login = unique_login("sealed")
    oauth.sign_in(project, "github", login)
    rows = query_rows(
        oauth.env.database_url,
        "SELECT t.id, t.kind, t.token_sealed FROM oauth_provider_tokens t "
        "JOIN oauth_accounts a ON a.tenancy_id = t.tenancy_id AND a.id = t.oauth_account_id "
        "WHERE t.tenancy_id = %s AND a.provider_account_id = %s ORDER BY t.kind",
        (project.tenancy_id, login),
    )
    assert [row[1] for row in rows] == ["access", "refresh"]  # offline_access was asked for
    sealer = token_sealer(Settings(**settings_env(oauth.env.database_url)))  # type: ignore[arg-type]
    tenancy = uuid.UUID(project.tenancy_id)
    access_id, _, sealed = rows[0]
    access_token = sealer.open(bytes(sealed), token_context(tenancy, access_id)).decode()
    assert access_token.encode() not in bytes(sealed)
    # It is the provider's real token for that account...
    info = httpx.get(
        f"{oauth.env.provider_url}/me", headers={"Authorization": f"Bearer {access_token}"}
    ).json()
    assert info["sub"] == login
    # ...and it does not open as another row's.
    with pytest.raises(SealError):
        sealer.open(bytes(sealed), token_context(tenancy, rows[1][0]))


def test_a_provider_the_project_did_not_enable_is_refused(oauth: OAuth) -> None:
    project = oauth.project(shared("github"), shared("gitlab", allowSignIn=False))
    with Browser(oauth.env) as browser:
        for provider in ("google", "gitlab"):
            r = browser.authorize(Flow(project, provider))
            assert_known_error(r, "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED", 400)


def test_shared_keys_the_operator_did_not_set_are_refused(api: ApiServer) -> None:
    """The session API has no STACK_GITHUB_CLIENT_ID: a shared github provider cannot start."""
    project = create_project(api.database_url, shared("github"))
    with api.client() as client:
        r = client.get(
            "/api/v1/auth/oauth/authorize/github", params=Flow(project, "github").query()
        )
    assert r.status_code == 400, r.text
    assert "STACK_<PROVIDER>_CLIENT_ID" in r.text


def test_authorize_accepts_parameters_it_does_not_list(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    tokens = oauth.sign_in(
        project, "github", unique_login(), bot_challenge_phase="invisible", extra="1"
    )
    assert oauth.me(project, tokens["access_token"])["primary_email"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("code_challenge_method", "plain"), ("code_challenge", "short"), ("grant_type", "password")],
)
def test_authorize_refuses_a_malformed_outer_request(oauth: OAuth, name: str, value: str) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"), **{name: value})
    assert_known_error(r, "SCHEMA_ERROR", 400)


def _settings(**env: str) -> Settings:
    return Settings(**settings_env("postgresql://unused/unused", **env))  # type: ignore[arg-type]


def test_seed_enables_the_shared_providers_it_is_given() -> None:
    settings = _settings(STACK_SEED_INTERNAL_PROJECT_OAUTH_PROVIDERS="github, google")
    config = ProjectConfig.from_override(internal_project_override(settings))
    for provider_type in ("github", "google"):
        provider = provider_config(config, provider_type)
        assert provider is not None
        assert (provider.type, provider.is_shared, provider.allow_sign_in) == (
            provider_type,
            True,
            True,
        )
    assert provider_config(config, "gitlab") is None


def test_shared_keys_come_from_the_environment_and_mock_needs_its_url() -> None:
    keys: dict[str, Any] = {
        "STACK_GITHUB_CLIENT_ID": "MOCK",
        "STACK_GITHUB_CLIENT_SECRET": "MOCK",
        "STACK_X_CLIENT_ID": "x-id",
        "STACK_X_CLIENT_SECRET": "x-secret",
    }
    settings = _settings(STACK_OAUTH_MOCK_URL="http://127.0.0.1:9", **keys)
    assert settings.oauth_shared_keys["github"] == ("MOCK", "MOCK")
    assert settings.oauth_shared_keys["x"] == ("x-id", "x-secret")
    assert "google" not in settings.oauth_shared_keys
    assert "x-secret" not in repr(settings)
    with pytest.raises(ValueError, match="STACK_OAUTH_MOCK_URL"):
        _settings(**keys)
    with pytest.raises(ValueError, match="both be MOCK"):
        _settings(
            STACK_OAUTH_MOCK_URL="http://127.0.0.1:9",
            STACK_GITHUB_CLIENT_ID="MOCK",
            STACK_GITHUB_CLIENT_SECRET="real-secret",
        )


def test_flows_and_codes_left_an_hour_are_cleared_by_the_projects_next_ones(
    oauth: OAuth,
) -> None:
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code_from(browser.callback(browser.to_callback(flow, unique_login())), flow)
        browser.authorize(Flow(project, "github"))  # a flow never finished
    for table in ("oauth_outer_infos", "oauth_authorization_codes"):
        query_rows(
            oauth.env.database_url,
            f"UPDATE {table} SET expires_at = now() - interval '2 hours' "
            "WHERE tenancy_id = %s RETURNING 1",
            (project.tenancy_id,),
        )
    oauth.sign_in(project, "github", unique_login())
    for table in ("oauth_outer_infos", "oauth_authorization_codes"):
        left = query_rows(
            oauth.env.database_url,
            f"SELECT expires_at < now() FROM {table} WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
        assert [row[0] for row in left] == [], table
