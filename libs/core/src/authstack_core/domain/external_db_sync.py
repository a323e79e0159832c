"""External database sync (contract §7.2): the sequencer, the poller, the fusebox and the status.

Migration 0013's triggers mark every changed row of a synced table (sync_sequence_id NULL) and
leave a tombstone for every deleted one, in the writing transaction. The sequencer numbers
committed changes after the fact, one sequencer at a time, so ids become visible in id order: a
target that has seen every id up to N has seen all of them for good. It then asks for one sync
per tenancy that has somewhere to sync to; the poller hands those requests to the worker's sync
engine (``jobs.SYNC_TENANCY``), which is idempotent, so a request sent twice after a crash costs
a little work and changes no result.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog

from authstack_core.db.queries import external_db_sync as q
from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_sync_clickhouse import (
    CLICKHOUSE_TARGET_ID,
    copy_to_clickhouse,
)
from authstack_core.jobs import SYNC_TENANCY, EnqueueError
from authstack_core.models.config import ProjectConfig
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import millis

log = structlog.get_logger(__name__)

# Rows numbered per table and per pass (upstream's batch), and requests claimed per poll.
SEQUENCER_BATCH = 1000
RETRY_FAILED_AFTER = "1 minute"  # a failed target is asked for again this long after
POLL_CLAIM_LIMIT = 100
# maxDurationMs when the caller gives none, and the most it may ask for.
MAX_DURATION_MS = 60_000


class QueueUnavailableError(Exception):
    """Redis did not take the sync messages; the requests are kept for the next poll."""


def external_database_ids(config: ProjectConfig) -> list[str]:
    """The ids of the project's ``dbSync.externalDatabases`` entries, sorted."""
    sync = config.raw.get("dbSync")
    databases = sync.get("externalDatabases") if isinstance(sync, dict) else None
    if not isinstance(databases, dict):
        return []
    return sorted(key for key, entry in databases.items() if isinstance(entry, dict))


def _deadline(max_duration_ms: int | None) -> float:
    wanted = MAX_DURATION_MS if max_duration_ms is None else max_duration_ms
    return time.monotonic() + min(max(wanted, 0), MAX_DURATION_MS) / 1000


async def _tenancies_with_targets(
    deps: Deps, conn: Any, tenancy_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of ``tenancy_ids`` that have somewhere to sync to: an external database in their
    config, or any (live) tenancy when ClickHouse holds the sync tables."""
    if deps.settings.clickhouse_store != "disabled":
        return await q.select_live_tenancies(conn, tenancy_ids)
    rows = await q.select_sync_configs(conn, tenancy_ids)
    return [
        row.tenancy_id
        for row in rows
        if external_database_ids(
            ProjectConfig.from_levels(
                row.config_override, row.branch_config_override, row.environment_config_override
            )
        )
    ]


async def _tenancies_with_new_targets(conn: Any) -> list[uuid.UUID]:
    """Tenancies with an external database the engine has never run for: a target added to a
    project where nothing changes would otherwise wait for the project's next change. (ClickHouse,
    when configured, gets every tenancy it has not received yet, in the sequencer.)"""
    synced = await q.select_synced_targets(conn)
    return [
        row.tenancy_id
        for row in await q.select_sync_configs(conn, None)
        if any(
            (row.tenancy_id, target) not in synced
            for target in external_database_ids(
                ProjectConfig.from_levels(
                    row.config_override,
                    row.branch_config_override,
                    row.environment_config_override,
                )
            )
        )
    ]


async def run_sequencer(deps: Deps, max_duration_ms: int | None = None) -> int:
    """Number committed changes and request syncs until nothing is left or the time is up; the
    number of passes made (0 when paused or when another sequencer has the turn)."""
    deadline = _deadline(max_duration_ms)
    iterations = 0
    while True:
        async with deps.pool.connection() as conn, conn.transaction():
            if not (await q.select_fusebox(conn)).sequencer_enabled:
                break
            if not await q.take_sequencer_turn(conn):
                break
            if iterations == 0:
                await q.insert_retry_requests(conn, RETRY_FAILED_AFTER)
                await q.insert_requests(conn, await _tenancies_with_new_targets(conn))
                if deps.settings.clickhouse_store != "disabled":
                    # Rows numbered before ClickHouse was configured (or before this release).
                    await q.insert_requests(
                        conn, await q.select_uncopied_tenancies(conn, SEQUENCER_BATCH)
                    )
            tenancies: set[uuid.UUID] = set()
            numbered = 0
            for source in q.SOURCES:
                changed = await q.number_changes(conn, source, SEQUENCER_BATCH)
                numbered += len(changed)
                tenancies.update(t for t in changed if t is not None)
            deleted = await q.number_tombstones(conn, SEQUENCER_BATCH)
            numbered += len(deleted)
            tenancies.update(deleted)
            if tenancies:
                wanted = await _tenancies_with_targets(deps, conn, sorted(tenancies))
                if wanted:
                    await q.insert_requests(conn, wanted)
        iterations += 1
        if numbered:
            log.info("sync sequencer pass", numbered=numbered, tenancies=len(tenancies))
        if not numbered or time.monotonic() >= deadline:
            break
    return iterations


async def run_poller(deps: Deps, max_duration_ms: int | None = None) -> int:
    """Hand pending sync requests to the worker, one message per tenancy, until none is left or
    the time is up; how many were handed over. Then, when this process holds ClickHouse, copy
    those tenancies' changes there in the time left, and ask again for those not done (a
    ClickHouse failure is recorded in their status, never raised). Raises QueueUnavailableError
    if Redis refused messages (those requests stay pending)."""
    deadline = _deadline(max_duration_ms)
    sent, refused = await _hand_over(deps, deadline)
    if sent and deps.analytics.enabled:
        unfinished = await copy_to_clickhouse(deps, sent, deadline)
        if unfinished:
            async with deps.pool.connection() as conn, conn.transaction():
                await q.insert_requests(conn, unfinished)
            log.info("clickhouse sync continues next poll", tenancies=len(unfinished))
    if refused:
        raise QueueUnavailableError(refused)
    return len(sent)


async def _hand_over(deps: Deps, deadline: float) -> tuple[list[uuid.UUID], str | None]:
    """Claim requests and send their messages: the tenancies sent, and why the rest was not
    when Redis refused them (their claims are given back)."""
    sent_ids: list[uuid.UUID] = []
    while time.monotonic() < deadline or not sent_ids:
        async with deps.pool.connection() as conn, conn.transaction():
            if not (await q.select_fusebox(conn)).poller_enabled:
                break
            claim = await q.claim_requests(conn, POLL_CLAIM_LIMIT)
        if claim.claimed_at is None:
            break
        ids = claim.tenancy_ids
        try:
            sent = await deps.jobs.send(SYNC_TENANCY, [(str(i),) for i in ids])
        except EnqueueError:
            sent = 0
        async with deps.pool.connection() as conn, conn.transaction():
            await q.finish_claim(conn, ids[:sent], claim.claimed_at, sent=True)
            if sent < len(ids):
                await q.finish_claim(conn, ids[sent:], claim.claimed_at, sent=False)
        sent_ids += ids[:sent]
        if sent < len(ids):
            return sent_ids, f"Redis took {sent} of {len(ids)} sync messages"
        if len(ids) < POLL_CLAIM_LIMIT:
            break
    if sent_ids:
        log.info("sync poller", requests_processed=len(sent_ids))
    return sent_ids, None


def fusebox_json(fusebox: q.Fusebox) -> dict[str, Any]:
    return {
        "sequencer_enabled": fusebox.sequencer_enabled,
        "poller_enabled": fusebox.poller_enabled,
        "updated_at_millis": millis(fusebox.updated_at),
    }


async def read_fusebox(deps: Deps) -> q.Fusebox:
    async with deps.pool.connection() as conn:
        return await q.select_fusebox(conn)


async def set_fusebox(
    deps: Deps, *, sequencer_enabled: bool | None, poller_enabled: bool | None
) -> q.Fusebox:
    """Pause or resume the sequencer and/or the poller (None leaves one as it is)."""
    async with deps.pool.connection() as conn, conn.transaction():
        fusebox = await q.update_fusebox(
            conn, sequencer_enabled=sequencer_enabled, poller_enabled=poller_enabled
        )
    log.info(
        "sync fusebox set",
        sequencer_enabled=fusebox.sequencer_enabled,
        poller_enabled=fusebox.poller_enabled,
    )
    return fusebox


@dataclass(frozen=True, slots=True)
class _Target:
    id: str | None
    type: str
    stored_id: str


async def status(deps: Deps, project: TenantProject, branch_id: str) -> dict[str, Any]:
    """Per target and mapping: the last id synced, the lag and what is not numbered yet.

    ``lag`` counts the tenancy's rows and tombstones of that mapping whose current number is past
    ``last_synced_sequence_id`` (all numbered ones before a first sync): what the next sync has to
    send. A row changed several times since counts once. ``pending_changes`` counts those changed
    and not numbered yet (the sequencer's backlog); they join the lag when numbered.
    """
    config_targets = project.config.raw.get("dbSync", {}).get("externalDatabases", {})
    targets = [
        _Target(tid, str(config_targets[tid].get("type", "postgres")), tid)
        for tid in external_database_ids(project.config)
    ]
    if deps.settings.clickhouse_store != "disabled":
        targets.append(_Target(None, "clickhouse", CLICKHOUSE_TARGET_ID))
    async with deps.pool.connection() as conn, conn.transaction():
        rows = await q.select_status(conn, project.tenancy_id)
        fusebox = await q.select_fusebox(conn)
        recorded = {(row.target_id, row.mapping): row for row in rows}
        counts: dict[tuple[str, int], q.ChangeCounts] = {}
        out_targets = []
        for target in targets:
            mappings = []
            for source in q.SOURCES:
                row = recorded.get((target.stored_id, source.mapping))
                last = row.last_synced_sequence_id if row else None
                key = (source.mapping, last or 0)
                if key not in counts:
                    counts[key] = await q.count_changes(
                        conn,
                        source,
                        tenancy_id=project.tenancy_id,
                        project_id=project.id,
                        branch_id=branch_id,
                        after=last or 0,
                    )
                mappings.append(
                    {
                        "mapping": source.mapping,
                        "last_synced_sequence_id": last,
                        "lag": counts[key].numbered_after,
                        "pending_changes": counts[key].unnumbered,
                        "last_error": row.last_error if row else None,
                        "last_error_at_millis": (
                            millis(row.last_error_at) if row and row.last_error_at else None
                        ),
                        "updated_at_millis": millis(row.updated_at) if row else None,
                    }
                )
            out_targets.append({"id": target.id, "type": target.type, "mappings": mappings})
    return {"fusebox": fusebox_json(fusebox), "targets": out_targets}
