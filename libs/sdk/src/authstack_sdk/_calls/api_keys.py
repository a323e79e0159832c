"""User and team API keys: create, list, revoke, and check a key a caller presented.

The two kinds share their routes' shape; each public function names its kind.
"""

from __future__ import annotations

from typing import Literal

from authstack_sdk._core import Call, none_on, segment
from authstack_sdk.errors import ApiKeyNotValid
from authstack_sdk.models import ApiKey
from authstack_sdk.pagination import items_reader

Kind = Literal["user", "team"]


def _create(
    kind: Kind,
    owner_id: str,
    *,
    description: str,
    expires_at_millis: int | None = None,
    is_public: bool = False,
) -> Call[ApiKey]:
    """A new key for the user (``kind="user"``) or team; its ``value`` is shown only here."""
    body = {
        f"{kind}_id": owner_id,
        "description": description,
        "expires_at_millis": expires_at_millis,
        "is_public": is_public,
    }
    return Call("POST", f"/{kind}-api-keys", ApiKey.from_wire, body=body)


def _list(kind: Kind, owner_id: str) -> Call[list[ApiKey]]:
    """The user's (or team's) keys, revoked and expired ones included."""
    return Call(
        "GET", f"/{kind}-api-keys", items_reader(ApiKey.from_wire), query={f"{kind}_id": owner_id}
    )


def _revoke(kind: Kind, key_id: str) -> Call[ApiKey]:
    """Revoke the key for good."""
    path = f"/{kind}-api-keys/{segment(key_id)}"
    return Call("PATCH", path, ApiKey.from_wire, body={"revoked": True})


def _check(kind: Kind, api_key: str) -> Call[ApiKey | None]:
    """The key a caller presented, if it is a valid ``kind`` key of this project; None when it
    is unknown, revoked, expired or of the other kind."""
    return Call(
        "POST",
        f"/{kind}-api-keys/check",
        ApiKey.from_wire,
        body={"api_key": api_key},
        recover=none_on(ApiKeyNotValid),
    )


def create_user_api_key(
    user_id: str, *, description: str, expires_at_millis: int | None = None, is_public: bool = False
) -> Call[ApiKey]:
    """A new API key for the user; its whole ``value`` is shown only in this answer."""
    return _create(
        "user",
        user_id,
        description=description,
        expires_at_millis=expires_at_millis,
        is_public=is_public,
    )


def create_team_api_key(
    team_id: str, *, description: str, expires_at_millis: int | None = None, is_public: bool = False
) -> Call[ApiKey]:
    """A new API key for the team; its whole ``value`` is shown only in this answer."""
    return _create(
        "team",
        team_id,
        description=description,
        expires_at_millis=expires_at_millis,
        is_public=is_public,
    )


def list_user_api_keys(user_id: str) -> Call[list[ApiKey]]:
    """The user's API keys, revoked and expired ones included."""
    return _list("user", user_id)


def list_team_api_keys(team_id: str) -> Call[list[ApiKey]]:
    """The team's API keys, revoked and expired ones included."""
    return _list("team", team_id)


def revoke_user_api_key(key_id: str) -> Call[ApiKey]:
    """Revoke a user API key for good."""
    return _revoke("user", key_id)


def revoke_team_api_key(key_id: str) -> Call[ApiKey]:
    """Revoke a team API key for good."""
    return _revoke("team", key_id)


def check_user_api_key(api_key: str) -> Call[ApiKey | None]:
    """The user API key a caller presented (its ``user_id`` is the caller), or None if it is not
    a valid user key of this project (unknown, revoked, expired, or a team key)."""
    return _check("user", api_key)


def check_team_api_key(api_key: str) -> Call[ApiKey | None]:
    """The team API key a caller presented (its ``team_id`` is the caller), or None if it is
    not a valid team key of this project."""
    return _check("team", api_key)
