"""Teams and their members."""

from __future__ import annotations

from typing import TypedDict, Unpack

from authstack_sdk._core import Call, done, none_on, params, segment
from authstack_sdk.errors import TeamNotFound
from authstack_sdk.models import Team, TeamFields, TeamMemberProfile, TeamUpdate
from authstack_sdk.pagination import Page, items_reader


def get_team(team_id: str) -> Call[Team | None]:
    """The team with this id, or None if the project has no such team."""
    return Call("GET", f"/teams/{segment(team_id)}", Team.from_wire, recover=none_on(TeamNotFound))


class TeamFilters(TypedDict, total=False):
    """What ``list_teams`` and ``iter_teams`` filter and sort by."""

    user_id: str
    query: str
    desc: bool


def list_teams(
    *, limit: int | None = None, cursor: str | None = None, **filters: Unpack[TeamFilters]
) -> Call[Page[Team]]:
    """One page of the project's teams (one user's teams with ``user_id``), oldest first
    (``desc=True``: newest first); ``query`` searches their names."""
    page = params(limit=limit, cursor=cursor, **filters)
    return Call("GET", "/teams", Page.reader(Team.from_wire), query=page)


def create_team(
    display_name: str, *, creator_user_id: str | None = None, **fields: Unpack[TeamFields]
) -> Call[Team]:
    """A new team; ``creator_user_id`` joins it with the project's team-creator permissions."""
    body: dict[str, object] = {"display_name": display_name, **fields}
    if creator_user_id is not None:
        body["creator_user_id"] = creator_user_id
    return Call("POST", "/teams", Team.from_wire, body=body)


def update_team(team_id: str, **changes: Unpack[TeamUpdate]) -> Call[Team]:
    """The team after changing the fields passed (and only those)."""
    return Call("PATCH", f"/teams/{segment(team_id)}", Team.from_wire, body=dict(changes))


def delete_team(team_id: str) -> Call[None]:
    """Delete the team and its memberships."""
    return Call("DELETE", f"/teams/{segment(team_id)}", done)


def _membership(team_id: str, user_id: str) -> str:
    return f"/team-memberships/{segment(team_id)}/{segment(user_id)}"


def add_team_member(team_id: str, user_id: str) -> Call[None]:
    """Add the user to the team, with the project's default member permissions."""
    return Call("POST", _membership(team_id, user_id), done, body={})


def remove_team_member(team_id: str, user_id: str) -> Call[None]:
    """Remove the user from the team; TEAM_MEMBERSHIP_NOT_FOUND if not a member."""
    return Call("DELETE", _membership(team_id, user_id), done)


def list_team_members(team_id: str) -> Call[list[TeamMemberProfile]]:
    """The team's members: each one's team profile and user."""
    return Call(
        "GET",
        "/team-member-profiles",
        items_reader(TeamMemberProfile.from_wire),
        query={"team_id": team_id},
    )
