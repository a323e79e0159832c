"""What the sync engine tests share: running the sequencer and the engine in-process, naming a
target through the config override API, and reading a target back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import psycopg
import pytest

from authstack_core.db.pool import make_pool
from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_sync import run_sequencer
from authstack_core.domain.external_db_sync_engine import (
    SyncIncompleteError,
    SyncReport,
    sync_tenancy,
)
from authstack_core.models.external_db_sync import MAPPING_NAMES
from authstack_core.settings import Settings
from tests.conftest import settings_env
from tests.factories import Project, query_rows

T = TypeVar("T")
OVERRIDE = "/api/v1/internal/config/override/branch"


class Engine:
    """The sequencer and the sync engine of one database, run the way the cron and the worker
    run them (domain functions over a real pool)."""

    def __init__(self, database_url: str, *, allow_private: bool = True) -> None:
        env = settings_env(
            database_url, STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS=str(allow_private).lower()
        )
        self.settings = Settings(**env)  # type: ignore[arg-type]

    def run(self, fn: Callable[[Deps], Awaitable[T]]) -> T:
        async def go() -> T:
            pool = make_pool(self.settings)
            await pool.open(wait=True, timeout=30)
            deps = Deps.build(self.settings, pool)
            try:
                return await fn(deps)
            finally:
                deps.jobs.close()
                await pool.close()

        # Off the main thread: the session's event loop may be running there.
        with ThreadPoolExecutor(1) as executor:
            return executor.submit(asyncio.run, go()).result()

    def sequence(self) -> int:
        return self.run(lambda deps: run_sequencer(deps, 10_000))

    def sync(self, project: Project, batch_size: int = 1000) -> SyncReport:
        """Number what changed, then sync the project's tenancy; fail the test if a target fails."""
        self.sequence()
        return self.run(lambda deps: sync_tenancy(deps, project.tenancy_id, batch_size=batch_size))

    def sync_failing(self, project: Project) -> SyncIncompleteError:
        self.sequence()
        with pytest.raises(SyncIncompleteError) as caught:
            self.run(lambda deps: sync_tenancy(deps, project.tenancy_id))
        return caught.value


def add_target(http: httpx.Client, project: Project, target_id: str, url: str) -> None:
    """Name ``url`` as the project's external database ``target_id`` (config override API)."""
    entry = {"type": "postgres", "connectionString": url}
    body = {"config_override_string": json.dumps({f"dbSync.externalDatabases.{target_id}": entry})}
    r = http.patch(OVERRIDE, headers=project.headers("admin"), json=body)
    assert r.status_code == 200, r.text


def rows(target_url: str, table: str, columns: str, order: str = "1") -> list[tuple[Any, ...]]:
    return query_rows(target_url, f"SELECT {columns} FROM {table} ORDER BY {order}")


def ids(target_url: str, table: str) -> set[str]:
    return {str(r[0]) for r in rows(target_url, table, "id")}


def progress(target_url: str) -> dict[str, int]:
    """The target's ``_stack_sync_metadata``: mapping -> last synced sequence id."""
    return dict(rows(target_url, "_stack_sync_metadata", "mapping_name, last_synced_sequence_id"))


def status(database_url: str, project: Project) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(target id, mapping) -> (last synced id, last error) from external_db_sync_status."""
    found = query_rows(
        database_url,
        "SELECT target_id, mapping, last_synced_sequence_id, last_error"
        " FROM external_db_sync_status WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in found}


def table_names(target_url: str) -> set[str]:
    with psycopg.connect(target_url) as conn:
        found = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in found}


__all__ = ["MAPPING_NAMES"]
