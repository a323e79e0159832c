"""The listener against the real PostgreSQL, in this process: notices from the migration's
triggers reach the cache, and a lost connection stops the cache until a new one listens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from authstack_core.db.project_cache import ProjectCache
from authstack_core.db.project_listener import application_name, listen
from authstack_core.db.queries.projects import select_project_for_request
from authstack_core.models.projects import ProjectRow
from tests.conftest import Project

WAIT_S = 5


async def eventually(check: Callable[[], bool]) -> None:
    """Until ``check()`` holds (state the listener task changes), for at most WAIT_S."""
    async with asyncio.timeout(WAIT_S):
        # The cache has no event to wait on: its state is plain attributes, polled.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def cache(migrated_database: str) -> AsyncIterator[ProjectCache]:
    cache = ProjectCache(300, 100)
    task = asyncio.create_task(listen(migrated_database, cache))
    try:
        await eventually(lambda: cache.listening)
        yield cache
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not cache.listening


async def read(database_url: str, project: Project) -> ProjectRow:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await select_project_for_request(conn, project.id, "main")
    assert row is not None
    return row


async def cached(cache: ProjectCache, database_url: str, project: Project) -> None:
    """Read ``project`` and keep it: again if a notice (of its creation, say) came meanwhile."""
    for _ in range(20):
        ticket = cache.ticket()
        if cache.put(ticket, "main", await read(database_url, project)):
            break
        await asyncio.sleep(0.05)
    assert cache.get(project.id, "main") is not None


async def test_each_committed_change_to_a_project_drops_it(
    cache: ProjectCache, migrated_database: str, make_project: Callable[[], Project]
) -> None:
    project, other = make_project(), make_project()
    changes = [
        "UPDATE projects SET description = 'x' WHERE id = %(p)s",
        "UPDATE tenancies SET environment_config_override = '{\"a\": 1}' WHERE project_id = %(p)s",
        "UPDATE api_key_sets SET manually_revoked_at = now() WHERE project_id = %(p)s",
        "INSERT INTO tenancies (id, project_id, branch_id) VALUES (gen_random_uuid(), %(p)s, 'b')",
        "DELETE FROM projects WHERE id = %(p)s",
    ]
    for change in changes:
        await cached(cache, migrated_database, other)
        await cached(cache, migrated_database, project)
        async with await psycopg.AsyncConnection.connect(migrated_database) as conn:
            await conn.execute(change, {"p": project.id})
        await eventually(lambda: cache.get(project.id, "main") is None)
        assert cache.get(other.id, "main") is not None, change


async def test_a_lost_connection_stops_the_cache_until_a_new_one_listens(
    cache: ProjectCache, migrated_database: str, project: Project
) -> None:
    await cached(cache, migrated_database, project)
    name = application_name()
    async with await psycopg.AsyncConnection.connect(migrated_database, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity"
            " WHERE application_name = %s",
            (name,),
        )
        ((killed, old_pid),) = await cur.fetchall()
        assert killed
        await eventually(lambda: not cache.listening)
        assert len(cache) == 0
        assert cache.get(project.id, "main") is None  # bypassed, not a miss
        assert cache.stats.bypassed >= 1
        await eventually(lambda: cache.listening)
        cur = await conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)
        )
        ((new_pid,),) = await cur.fetchall()
        assert new_pid != old_pid
    await cached(cache, migrated_database, project)
