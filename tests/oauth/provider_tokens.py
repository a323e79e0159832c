"""The provider's side of a connected account in the tests: its userinfo endpoint, revoking a
token there (as a user withdrawing access would), and the tokens the API keeps, opened."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from authstack_core.domain.oauth_accounts import token_context, token_sealer
from authstack_core.settings import Settings
from tests.conftest import settings_env
from tests.factories import Project, query_rows
from tests.oauth.flow import OAuthEnv

MOCK_SECRET = "MOCK-SERVER-SECRET"


def provider_userinfo(env: OAuthEnv, access_token: str) -> dict[str, Any]:
    """The provider's userinfo for ``access_token``; HTTPStatusError when it refuses it."""
    r = httpx.get(f"{env.provider_url}/me", headers={"Authorization": f"Bearer {access_token}"})
    r.raise_for_status()
    info: dict[str, Any] = r.json()
    return info


def revoke_grant(env: OAuthEnv, client_id: str, client_secret: str, token: str) -> None:
    """Revoke ``token`` at the provider (RFC 7009), as the client it was issued to: the provider
    revokes the whole grant, every token of it, as a user withdrawing access would."""
    r = httpx.post(
        f"{env.provider_url}/token/revocation",
        data={"token": token},
        auth=(client_id, client_secret),
    )
    assert r.status_code == 200, r.text


def end_access_token(env: OAuthEnv, access_token: str) -> None:
    """End that one access token at the provider (its refresh token still works), as a provider
    does that revokes a single token or ends it before its stated expiry."""
    r = httpx.post(f"{env.provider_url}/test/revoke-access-token", data={"token": access_token})
    assert r.status_code == 200, r.text


def open_token(env: OAuthEnv, project: Project, token_id: uuid.UUID, sealed: bytes) -> str:
    """A provider token the API keeps, opened with the server secret the tests run it with."""
    sealer = token_sealer(Settings(**settings_env(env.database_url)))  # type: ignore[arg-type]
    return sealer.open(sealed, token_context(uuid.UUID(project.tenancy_id), token_id)).decode()


def stored_tokens(env: OAuthEnv, project: Project, login: str) -> list[tuple[Any, ...]]:
    """(id, kind, is_valid, sealed token) of every token kept for ``login``'s account, oldest
    first."""
    return query_rows(
        env.database_url,
        "SELECT t.id, t.kind, t.is_valid, t.token_sealed FROM oauth_provider_tokens t "
        "JOIN oauth_accounts a ON a.tenancy_id = t.tenancy_id AND a.id = t.oauth_account_id "
        "WHERE t.tenancy_id = %s AND a.provider_account_id = %s ORDER BY t.created_at, t.kind",
        (project.tenancy_id, login),
    )


def valid_refresh_token(env: OAuthEnv, project: Project, login: str) -> str:
    """The one valid refresh token kept for ``login``'s account, in the clear."""
    (found,) = [row for row in stored_tokens(env, project, login) if row[1:3] == ("refresh", True)]
    return open_token(env, project, found[0], bytes(found[3]))
