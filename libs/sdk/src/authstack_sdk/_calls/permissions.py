"""Permissions: granted in a team (``team_id``) or project-wide (no ``team_id``)."""

from __future__ import annotations

from typing import Any

from authstack_sdk._core import Call, done, params, segment
from authstack_sdk.models import Permission
from authstack_sdk.pagination import items_reader


def _grant_path(user_id: str, permission_id: str, team_id: str | None) -> str:
    tail = f"{segment(user_id)}/{segment(permission_id)}"
    if team_id is None:
        return f"/project-permissions/{tail}"
    return f"/team-permissions/{segment(team_id)}/{tail}"


def grant_permission(
    user_id: str, permission_id: str, *, team_id: str | None = None
) -> Call[Permission]:
    """Grant the permission in the team (project-wide without ``team_id``); idempotent."""
    path = _grant_path(user_id, permission_id, team_id)
    return Call("POST", path, Permission.from_wire, body={})


def revoke_permission(
    user_id: str, permission_id: str, *, team_id: str | None = None
) -> Call[None]:
    """Take back a permission granted directly (one held through another is untouched)."""
    return Call("DELETE", _grant_path(user_id, permission_id, team_id), done)


def _listing(
    user_id: str, team_id: str | None, *, permission_id: str | None, recursive: bool
) -> tuple[str, dict[str, str]]:
    filters = params(
        user_id=user_id, team_id=team_id, permission_id=permission_id, recursive=recursive
    )
    return ("/project-permissions" if team_id is None else "/team-permissions"), filters


def list_permissions(
    user_id: str, *, team_id: str | None = None, recursive: bool = True
) -> Call[list[Permission]]:
    """The permissions the user holds in the team (project-wide without ``team_id``); with
    ``recursive`` also those contained in them."""
    path, filters = _listing(user_id, team_id, permission_id=None, recursive=recursive)
    return Call("GET", path, items_reader(Permission.from_wire), query=filters)


def _any(data: Any) -> bool:
    return bool(data["items"])


def has_permission(user_id: str, permission_id: str, *, team_id: str | None = None) -> Call[bool]:
    """Whether the user holds the permission in the team (project-wide without ``team_id``),
    directly or through a permission that contains it."""
    path, filters = _listing(user_id, team_id, permission_id=permission_id, recursive=True)
    return Call("GET", path, _any, query=filters)
