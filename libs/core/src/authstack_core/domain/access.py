"""The reads request authentication makes: a project with its live key hashes; admin standing."""

from __future__ import annotations

from typing import Literal

from authstack_core.db.queries import projects as q
from authstack_core.domain.context import Deps
from authstack_core.domain.projects import INTERNAL_PROJECT_ID
from authstack_core.models.projects import ProjectRow

# "gone": the user of an admin access token no longer exists (a member check cannot tell a
# deleted user from an outsider, so it is looked up apart).
AdminStanding = Literal["admin", "not_admin", "gone"]


async def project_for_request(deps: Deps, project_id: str, branch_id: str) -> ProjectRow | None:
    """The project with its live key hashes and ``branch_id``'s tenancy (None when the branch has
    none), in one query; None when there is no such project.

    From this process's cache when it has a current copy (see ``db.project_cache``); the row is
    shared with other requests, so it must not be changed.
    """
    cache = deps.project_cache
    if cache is None:
        async with deps.pool.connection() as conn:
            return await q.select_project_for_request(conn, project_id, branch_id)
    row = cache.get(project_id, branch_id)
    if row is not None:
        return row
    ticket = cache.ticket()
    async with deps.pool.connection() as conn:
        row = await q.select_project_for_request(conn, project_id, branch_id)
    if row is not None:
        cache.put(ticket, branch_id, row)
    return row


async def recheck_project(deps: Deps, row: ProjectRow, branch_id: str) -> ProjectRow | None:
    """``row``'s project read from PostgreSQL again (and cached in its place), for a request
    about to be refused for a key ``row`` lacks: a key set made a moment ago through another API
    process may not have reached this one's cache yet. None when there is no cache (``row`` is
    fresh already) or the project is gone.

    A wrong key thus costs one read, as it did before the cache; a revoked one is refused from
    the cache until the notice of its revocation arrives.
    """
    cache = deps.project_cache
    if cache is None:
        return None
    ticket = cache.ticket()
    async with deps.pool.connection() as conn:
        fresh = await q.select_project_for_request(conn, row.id, branch_id)
    if fresh is not None:
        cache.put(ticket, branch_id, fresh)
    return fresh


async def admin_standing(deps: Deps, project: ProjectRow, user_id: str) -> AdminStanding:
    """Whether an internal-project user administers ``project`` (is in its owner team)."""
    owner = project.owner_team_id
    async with deps.pool.connection() as conn:
        if owner is not None and await q.select_is_internal_team_member(conn, str(owner), user_id):
            return "admin"
    internal = await project_for_request(deps, INTERNAL_PROJECT_ID, "main")
    if internal is None or internal.tenancy_id is None:
        return "not_admin"
    async with deps.pool.connection() as conn:
        if not await q.select_user_exists(conn, internal.tenancy_id, user_id):
            return "gone"
    return "not_admin"
