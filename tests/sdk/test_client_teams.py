"""The SDK's team, membership and permission methods against the real API, in both faces."""

from __future__ import annotations

import pytest

from authstack_sdk import errors
from authstack_sdk.models import Permission, Team
from tests.sdk.client_support import Face, unique_email

MISSING = "00000000-0000-4000-8000-000000000000"


async def test_team_lifecycle(face: Face) -> None:
    creator = await face.call("create_user", primary_email=unique_email("creator"))
    team = await face.call(
        "create_team",
        "Research",
        creator_user_id=creator.id,
        client_metadata={"color": "teal"},
        server_metadata={"tier": 2},
    )
    assert isinstance(team, Team)
    assert (team.display_name, team.client_metadata, team.server_metadata) == (
        "Research",
        {"color": "teal"},
        {"tier": 2},
    )
    assert team.created_at_millis

    fetched = await face.call("get_team", team.id)
    assert fetched is not None
    assert fetched.id == team.id
    renamed = await face.call("update_team", team.id, display_name="R&D")
    assert renamed.display_name == "R&D"
    assert renamed.server_metadata == {"tier": 2}

    mine = await face.call("list_teams", user_id=creator.id)
    assert [t.id for t in mine] == [team.id]

    await face.call("delete_team", team.id)
    assert await face.call("get_team", team.id) is None
    with pytest.raises(errors.TeamNotFound) as caught:
        await face.call("update_team", team.id, display_name="gone")
    assert caught.value.details == {"team_id": team.id}


async def test_iterating_teams_walks_every_page(face: Face) -> None:
    made = [(await face.call("create_team", f"Team {i}")).id for i in range(5)]
    first = await face.call("list_teams", limit=2)
    assert len(first) == 2
    assert first.next_cursor is not None
    walked = await face.collect(face.app.iter_teams(page_size=2))
    assert [t.id for t in walked] == made
    newest_first = await face.collect(face.app.iter_teams(page_size=3, desc=True))
    assert [t.id for t in newest_first] == made[::-1]
    found = await face.call("list_teams", query="team 3")
    assert [t.id for t in found] == [made[3]]


async def test_members_join_and_leave(face: Face) -> None:
    team = await face.call("create_team", "Members")
    alice = await face.call("create_user", primary_email=unique_email("alice"), display_name="A")
    bob = await face.call("create_user", primary_email=unique_email("bob"))
    assert await face.call("add_team_member", team.id, alice.id) is None
    await face.call("add_team_member", team.id, bob.id)
    with pytest.raises(errors.TeamMembershipAlreadyExists):
        await face.call("add_team_member", team.id, bob.id)

    members = await face.call("list_team_members", team.id)
    assert {m.user_id for m in members} == {alice.id, bob.id}
    assert all(m.team_id == team.id for m in members)
    profile = next(m for m in members if m.user_id == alice.id)
    assert profile.user is not None
    assert profile.user.primary_email == alice.primary_email

    await face.call("remove_team_member", team.id, bob.id)
    members = await face.call("list_team_members", team.id)
    assert [m.user_id for m in members] == [alice.id]
    with pytest.raises(errors.TeamMembershipNotFound) as caught:
        await face.call("remove_team_member", team.id, bob.id)
    assert caught.value.details == {"team_id": team.id, "user_id": bob.id}


async def test_team_permissions_granted_checked_and_revoked(face: Face) -> None:
    team = await face.call("create_team", "Reports")
    user = await face.call("create_user", primary_email=unique_email("perm"))
    await face.call("add_team_member", team.id, user.id)
    # The project's default member permission contains $read_members.
    assert await face.call("has_permission", user.id, "$read_members", team_id=team.id)
    assert not await face.call("has_permission", user.id, "read_reports", team_id=team.id)

    granted = await face.call("grant_permission", user.id, "manage_reports", team_id=team.id)
    assert granted == Permission(id="manage_reports", user_id=user.id, team_id=team.id)
    # Held through manage_reports, which contains it.
    assert await face.call("has_permission", user.id, "read_reports", team_id=team.id)
    held = await face.call("list_permissions", user.id, team_id=team.id)
    assert {"manage_reports", "read_reports", "team_member"} <= {p.id for p in held}
    direct = await face.call("list_permissions", user.id, team_id=team.id, recursive=False)
    assert {p.id for p in direct} == {"manage_reports", "team_member"}

    await face.call("revoke_permission", user.id, "manage_reports", team_id=team.id)
    assert not await face.call("has_permission", user.id, "read_reports", team_id=team.id)

    with pytest.raises(errors.PermissionNotFound) as caught:
        await face.call("grant_permission", user.id, "no_such_permission", team_id=team.id)
    assert caught.value.details == {"permission_id": "no_such_permission"}


async def test_project_permissions_granted_checked_and_revoked(face: Face) -> None:
    user = await face.call("create_user", primary_email=unique_email("billing"))
    assert not await face.call("has_permission", user.id, "billing")
    granted = await face.call("grant_permission", user.id, "billing")
    assert granted == Permission(id="billing", user_id=user.id, team_id=None)
    assert await face.call("has_permission", user.id, "billing")
    assert [p.id for p in await face.call("list_permissions", user.id)] == ["billing"]
    await face.call("revoke_permission", user.id, "billing")
    assert not await face.call("has_permission", user.id, "billing")
    assert await face.call("list_permissions", user.id) == []
