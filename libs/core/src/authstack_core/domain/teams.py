"""Teams, memberships and member profiles, with the client rules of contract §1.3.

Functions taking ``acting_user_id`` apply a client's permission rules for that user inside the
same transaction as the change; servers and admins pass None.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from msgspec import UNSET
from psycopg import AsyncConnection

from authstack_core.db.queries import images as images_q
from authstack_core.db.queries import invitations as invitations_q
from authstack_core.db.queries import teams as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain.context import Deps
from authstack_core.domain.images import ImageWrites
from authstack_core.domain.permissions import grant_team_defaults_in, require_team_permission
from authstack_core.domain.webhooks import record
from authstack_core.errors import (
    ClientNeedsTeamId,
    NotOwnTeamMemberProfile,
    TeamMembershipAlreadyExists,
    TeamMembershipNotFound,
    TeamNotFound,
    UserNotFound,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import Page
from authstack_core.models.teams import (
    MemberProfile,
    MemberProfileChanges,
    NewTeam,
    TeamChanges,
    TeamRow,
    membership_json,
)

# --- used inside other use cases' transactions ----------------------------------------------------


async def require_user_in(conn: AsyncConnection[Any], project: TenantProject, user_id: str) -> None:
    """USER_NOT_FOUND unless the user exists."""
    if await users_q.select_signed_up_at(conn, project.tenancy_id, user_id) is None:
        raise UserNotFound()


async def require_team_in(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str
) -> TeamRow:
    """The team, or TEAM_NOT_FOUND."""
    team = await q.select_team(conn, project.tenancy_id, team_id)
    if team is None:
        raise TeamNotFound(team_id=team_id)
    return team


async def create_team_in(
    conn: AsyncConnection[Any], project: TenantProject, new: NewTeam
) -> TeamRow:
    """Insert a team and record ``team.created``."""
    team_id = uuid.uuid4()
    await q.insert_team(conn, project.tenancy_id, team_id, new)
    team = await q.select_team(conn, project.tenancy_id, team_id)
    assert team is not None
    await record(conn, project, "team.created", team.json("server"))
    return team


async def add_member_in(
    conn: AsyncConnection[Any],
    project: TenantProject,
    team_id: str,
    user_id: str,
    *,
    creator: bool,
    selected: bool = False,
) -> None:
    """Add a member with the default team permissions (creator or member group) and record the
    membership and permission events; TEAM_MEMBERSHIP_ALREADY_EXISTS if already a member."""
    if not await q.insert_member(conn, project.tenancy_id, team_id, user_id, selected=selected):
        raise TeamMembershipAlreadyExists()
    await record(
        conn, project, "team_membership.created", membership_json(str(team_id), str(user_id))
    )
    await grant_team_defaults_in(conn, project, team_id, user_id, creator=creator)


# --- teams ---------------------------------------------------------------------------------------


async def create_team(
    deps: Deps, project: TenantProject, new: NewTeam, *, creator_user_id: str | None
) -> TeamRow:
    """Create a team; the creator (if any) joins it with the ``teamCreator`` permissions."""
    images = ImageWrites(deps, project.id)
    new = replace(new, profile_image_url=await images.take(new.profile_image_url))
    async with images, deps.pool.connection() as conn, conn.transaction():
        if creator_user_id is not None:
            await require_user_in(conn, project, creator_user_id)
        team = await create_team_in(conn, project, new)
        await images.attach_in(conn, dropped=())
        if creator_user_id is not None:
            await add_member_in(conn, project, team.id, creator_user_id, creator=True)
    return team


async def get_team(
    deps: Deps, project: TenantProject, team_id: str, *, acting_user_id: str | None
) -> TeamRow:
    """A client must be a member (TEAM_MEMBERSHIP_NOT_FOUND otherwise)."""
    async with deps.pool.connection() as conn:
        if acting_user_id is not None and not await users_q.select_is_member(
            conn, project.tenancy_id, team_id, acting_user_id
        ):
            raise TeamMembershipNotFound(team_id=team_id, user_id=acting_user_id)
        return await require_team_in(conn, project, team_id)


async def list_teams(
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str | None,
    query: str | None,
    desc: bool,
    cursor: str | None,
    limit: int | None,
) -> Page[TeamRow]:
    """Teams in creation order; with ``limit``, a page of them."""
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        start = None
        if cursor is not None:
            start = await q.select_team(conn, tenancy_id, cursor)
            if start is None:
                return Page([], None)
        rows = await q.select_teams(
            conn,
            tenancy_id,
            user_id=user_id,
            query=query,
            desc=desc,
            cursor=start,
            limit=limit + 1 if limit is not None else None,
        )
    return Page.cut(rows, limit)


async def update_team(
    deps: Deps,
    project: TenantProject,
    team_id: str,
    changes: TeamChanges,
    *,
    acting_user_id: str | None,
) -> TeamRow:
    """Apply a validated PATCH; a client needs ``$update_team``. Records ``team.updated``."""
    images = ImageWrites(deps, project.id)
    changes.profile_image_url = await images.take(changes.profile_image_url)
    async with images, deps.pool.connection() as conn, conn.transaction():
        if acting_user_id is not None:
            await require_team_permission(conn, project, team_id, acting_user_id, "$update_team")
        await require_team_in(conn, project, team_id)
        old_image = await images_q.lock_team_image(conn, project.tenancy_id, team_id)
        await q.update_team_columns(conn, project.tenancy_id, team_id, changes)
        if changes.profile_image_url is not UNSET:
            await images.attach_in(conn, dropped=[old_image])
        team = await require_team_in(conn, project, team_id)
        await record(conn, project, "team.updated", team.json("server"))
    return team


async def delete_team(
    deps: Deps, project: TenantProject, team_id: str, *, acting_user_id: str | None
) -> None:
    """Delete a team with its memberships, grants and keys; a client needs ``$delete_team``.
    Its stored images (the team's and its member profiles') are deleted after commit."""
    images = ImageWrites(deps, project.id)
    async with images, deps.pool.connection() as conn, conn.transaction():
        if acting_user_id is not None:
            await require_team_permission(conn, project, team_id, acting_user_id, "$delete_team")
        dropped = [
            await images_q.lock_team_image(conn, project.tenancy_id, team_id),
            *await images_q.lock_member_images(conn, project.tenancy_id, team_id=team_id),
        ]
        if not await q.delete_team(conn, project.tenancy_id, team_id):
            raise TeamNotFound(team_id=team_id)
        await images.attach_in(conn, dropped=dropped)
        await invitations_q.delete_invitations_of_team(conn, project.id, "main", team_id)
        await record(conn, project, "team.deleted", {"id": team_id})


# --- memberships ---------------------------------------------------------------------------------


async def add_member(deps: Deps, project: TenantProject, team_id: str, user_id: str) -> None:
    """Server-side: add a user with the ``teamMember`` default permissions."""
    async with deps.pool.connection() as conn, conn.transaction():
        await require_user_in(conn, project, user_id)
        await require_team_in(conn, project, team_id)
        await add_member_in(conn, project, team_id, user_id, creator=False)


async def remove_member(
    deps: Deps, project: TenantProject, team_id: str, user_id: str, *, acting_user_id: str | None
) -> None:
    """Remove a member (and at once its team permissions). A client may always leave; removing
    someone else needs ``$remove_members``. The member profile's stored image goes after commit."""
    images = ImageWrites(deps, project.id)
    async with images, deps.pool.connection() as conn, conn.transaction():
        if acting_user_id is not None and acting_user_id != user_id:
            await require_team_permission(conn, project, team_id, acting_user_id, "$remove_members")
        await require_user_in(conn, project, user_id)
        dropped = await images_q.lock_member_images(
            conn, project.tenancy_id, team_id=team_id, user_id=user_id
        )
        if not await q.delete_member(conn, project.tenancy_id, team_id, user_id):
            raise TeamMembershipNotFound(team_id=team_id, user_id=user_id)
        await images.attach_in(conn, dropped=dropped)
        await record(conn, project, "team_membership.deleted", membership_json(team_id, user_id))


# --- member profiles ----------------------------------------------------------------------------


async def _profiles(
    conn: AsyncConnection[Any],
    project: TenantProject,
    *,
    team_id: str | None,
    user_id: str | None,
) -> list[MemberProfile]:
    members = await q.select_members(conn, project.tenancy_id, team_id=team_id, user_id=user_id)
    users = await users_q.select_users_by_ids(
        conn, project.tenancy_id, sorted({m[1] for m in members})
    )
    return [
        MemberProfile(
            team_id=m_team,
            user_id=m_user,
            display_name=m_name if m_name is not None else users[m_user].display_name,
            profile_image_url=m_image if m_image is not None else users[m_user].profile_image_url,
            user=users[m_user],
        )
        for m_team, m_user, m_name, m_image in members
    ]


async def list_member_profiles(
    deps: Deps,
    project: TenantProject,
    *,
    team_id: str | None,
    user_id: str | None,
    acting_user_id: str | None,
) -> list[MemberProfile]:
    """Profiles in membership order. A client must name a team it belongs to, and needs
    ``$read_members`` unless it asks only for its own profile."""
    async with deps.pool.connection() as conn:
        if acting_user_id is not None:
            if team_id is None:
                raise ClientNeedsTeamId()
            if not await users_q.select_is_member(
                conn, project.tenancy_id, team_id, acting_user_id
            ):
                raise TeamMembershipNotFound(team_id=team_id, user_id=acting_user_id)
            if user_id != acting_user_id:
                await require_team_permission(
                    conn, project, team_id, acting_user_id, "$read_members"
                )
        else:
            if team_id is not None:
                await require_team_in(conn, project, team_id)
            if user_id is not None:
                await require_user_in(conn, project, user_id)
        return await _profiles(conn, project, team_id=team_id, user_id=user_id)


async def get_member_profile(
    deps: Deps, project: TenantProject, team_id: str, user_id: str, *, acting_user_id: str | None
) -> MemberProfile:
    async with deps.pool.connection() as conn:
        if acting_user_id is not None and acting_user_id != user_id:
            await require_team_permission(conn, project, team_id, acting_user_id, "$read_members")
        return await _one_profile(conn, project, team_id, user_id)


async def _one_profile(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str, user_id: str
) -> MemberProfile:
    await require_user_in(conn, project, user_id)
    found = await _profiles(conn, project, team_id=team_id, user_id=user_id)
    if not found:
        raise TeamMembershipNotFound(team_id=team_id, user_id=user_id)
    return found[0]


async def update_member_profile(
    deps: Deps,
    project: TenantProject,
    team_id: str,
    user_id: str,
    changes: MemberProfileChanges,
    *,
    acting_user_id: str | None,
) -> MemberProfile:
    """Set the member's per-team name or image; a client may change only its own profile."""
    if acting_user_id is not None and acting_user_id != user_id:
        raise NotOwnTeamMemberProfile()
    images = ImageWrites(deps, project.id)
    changes.profile_image_url = await images.take(changes.profile_image_url)
    async with images, deps.pool.connection() as conn, conn.transaction():
        await _one_profile(conn, project, team_id, user_id)
        old_images = await images_q.lock_member_images(
            conn, project.tenancy_id, team_id=team_id, user_id=user_id
        )
        await q.update_member_profile(conn, project.tenancy_id, team_id, user_id, changes)
        if changes.profile_image_url is not UNSET:
            await images.attach_in(conn, dropped=old_images)
        return await _one_profile(conn, project, team_id, user_id)
