"""Users: read, list and search, create, update, delete."""

from __future__ import annotations

from typing import TypedDict, Unpack

from authstack_sdk._core import Call, done, none_on, params, segment
from authstack_sdk.errors import UserNotFound
from authstack_sdk.models import User, UserCreate, UserUpdate
from authstack_sdk.pagination import Page


class UserFilters(TypedDict, total=False):
    """What ``list_users`` and ``iter_users`` filter and sort by."""

    team_id: str
    query: str
    desc: bool
    include_anonymous: bool
    only_anonymous: bool
    include_restricted: bool


def get_user(user_id: str) -> Call[User | None]:
    """The user with this id, or None if the project has no such user."""
    return Call("GET", f"/users/{segment(user_id)}", User.from_wire, recover=none_on(UserNotFound))


def list_users(
    *, limit: int | None = None, cursor: str | None = None, **filters: Unpack[UserFilters]
) -> Call[Page[User]]:
    """One page of the project's users, oldest sign-up first (``desc=True``: newest first).

    ``query`` searches display names and emails (case-insensitive) and matches an exact id;
    ``team_id`` keeps a team's members. Anonymous and restricted users are left out unless
    asked for. Pass the page's ``next_cursor`` as ``cursor`` for the next page.
    """
    page = params(limit=limit, cursor=cursor, **filters)
    return Call("GET", "/users", Page.reader(User.from_wire), query=page)


def search_users(text: str, *, limit: int | None = None) -> Call[Page[User]]:
    """The first page of users whose name or email contains ``text`` (or whose id it is)."""
    return list_users(limit=limit, query=text)


def create_user(**fields: Unpack[UserCreate]) -> Call[User]:
    """A new user; USER_EMAIL_ALREADY_EXISTS if the primary email already signs someone in."""
    return Call("POST", "/users", User.from_wire, body=dict(fields))


def update_user(user_id: str, **changes: Unpack[UserUpdate]) -> Call[User]:
    """The user after changing the fields passed (and only those)."""
    return Call("PATCH", f"/users/{segment(user_id)}", User.from_wire, body=dict(changes))


def delete_user(user_id: str) -> Call[None]:
    """Delete the user, their sessions and memberships; USER_NOT_FOUND if there is none."""
    return Call("DELETE", f"/users/{segment(user_id)}", done)
