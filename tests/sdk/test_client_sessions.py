"""The SDK's session and API-key methods against the real API, in both faces."""

from __future__ import annotations

import base64
import json

import pytest

from authstack_sdk import errors
from authstack_sdk.models import ApiKey, SessionTokens
from tests.conftest import ApiServer
from tests.factories import Project
from tests.sdk.client_support import Face, client_get_me, unique_email


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_sessions_created_listed_and_revoked(
    face: Face, sdk_api: ApiServer, sdk_project: Project
) -> None:
    user = await face.call("create_user", primary_email=unique_email("session"))
    tokens = await face.call("create_session", user.id, expires_in_millis=3_600_000)
    assert isinstance(tokens, SessionTokens)
    assert "refresh_token" not in repr(tokens)
    claims = _claims(tokens.access_token)
    assert (claims["sub"], claims["aud"]) == (user.id, sdk_project.id)
    me = client_get_me(sdk_api, sdk_project, tokens.access_token)
    assert me.status_code == 200
    assert me.json()["id"] == user.id

    listed = await face.call("list_sessions", user.id)
    assert [s.id for s in listed] == [claims["refresh_token_id"]]
    assert not listed[0].is_impersonation
    assert listed[0].user_id == user.id

    await face.call("revoke_session", listed[0].id, user_id=user.id)
    assert await face.call("list_sessions", user.id) == []
    with sdk_api.client() as http:
        refreshed = http.post(
            "/api/v1/auth/sessions/current/refresh",
            headers=sdk_project.headers(
                "client", **{"x-stack-refresh-token": tokens.refresh_token}
            ),
        )
    assert refreshed.headers["x-stack-known-error"] == "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"


async def test_impersonation_session_acts_as_the_user(
    face: Face, sdk_api: ApiServer, sdk_project: Project
) -> None:
    user = await face.call("create_user", primary_email=unique_email("imp"))
    tokens = await face.call("impersonate", user.id)
    assert client_get_me(sdk_api, sdk_project, tokens.access_token).json()["id"] == user.id
    # Impersonation sessions are listed to admin access only, as upstream does.
    assert await face.call("list_sessions", user.id) == []


async def test_session_for_unknown_user_raises(face: Face) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.UserIdDoesNotExist) as caught:
        await face.call("create_session", missing)
    assert caught.value.details == {"user_id": missing}


async def test_user_api_keys_checked_then_revoked(face: Face) -> None:
    user = await face.call("create_user", primary_email=unique_email("keys"))
    key = await face.call("create_user_api_key", user.id, description="CI")
    assert isinstance(key, ApiKey)
    assert key.value is not None
    assert key.value not in repr(key)
    assert (key.type, key.user_id, key.last_four) == ("user", user.id, key.value[-4:])

    checked = await face.call("check_user_api_key", key.value)
    assert checked is not None
    assert (checked.id, checked.user_id, checked.value) == (key.id, user.id, None)
    assert await face.call("check_team_api_key", key.value) is None  # the wrong kind
    assert await face.call("check_user_api_key", "sk_not_a_real_key") is None

    listed = await face.call("list_user_api_keys", user.id)
    assert [k.id for k in listed] == [key.id]
    revoked = await face.call("revoke_user_api_key", key.id)
    assert revoked.manually_revoked_at_millis is not None
    assert await face.call("check_user_api_key", key.value) is None


async def test_team_api_keys_checked_then_revoked(face: Face) -> None:
    team = await face.call("create_team", "Keyed")
    key = await face.call(
        "create_team_api_key", team.id, description="deploy", expires_at_millis=4_102_444_800_000
    )
    assert (key.type, key.team_id, key.expires_at_millis) == ("team", team.id, 4_102_444_800_000)
    checked = await face.call("check_team_api_key", key.value)
    assert checked is not None
    assert checked.team_id == team.id
    assert await face.call("check_user_api_key", key.value) is None
    assert [k.id for k in await face.call("list_team_api_keys", team.id)] == [key.id]
    await face.call("revoke_team_api_key", key.id)
    assert await face.call("check_team_api_key", key.value) is None
