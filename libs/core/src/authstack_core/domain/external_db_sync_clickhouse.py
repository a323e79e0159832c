"""The external DB sync's ClickHouse target (contract §7.2, §8): a tenancy's numbered changes
copied into ``analytics_internal.<mapping>``, which the ``default.<mapping>`` views show.

ClickHouse belongs to the API process (an embedded store opens in one process only), so the
poller runs this step there, after handing the requests to the worker. Per mapping, batch by
batch: read the rows and tombstones numbered in (last, end] with the engine's own reads, insert
them with their numbers (a tombstone, or an accepted invitation, as a row with
``sync_is_deleted = 1`` and its key), then record ``end`` as the ClickHouse target's progress in
``external_db_sync_status`` (target ``''``). The tables keep the highest number of each key, so a
batch inserted twice, or a crash between the insert and the progress, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from authstack_core.analytics.store import StoreUnavailableError
from authstack_core.analytics.sync_tables import SyncTableError, SyncTables
from authstack_core.db.queries import external_db_sync as sync_q
from authstack_core.db.queries import external_db_sync_engine as q
from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_sync_engine import MAX_ERROR_CHARS, ChangeBatch, read_batch
from authstack_core.models.external_db_sync import MAPPING_NAMES, MAPPINGS, Mapping, Window

log = structlog.get_logger(__name__)

CLICKHOUSE_TARGET_ID = ""  # its status rows' target_id (no config id can be empty)


@dataclass(slots=True)
class Budget:
    """Until when the step may start another batch; the first batch of a call always runs, so
    even a call with no time left moves the copy on."""

    deadline: float
    batches: int = 0

    def allows(self) -> bool:
        return self.batches == 0 or time.monotonic() < self.deadline


def _value(type_: str, value: Any) -> Any:
    """A source value as its ClickHouse column holds it: metadata as JSON text, booleans as
    UInt8, timestamps in UTC."""
    if type_ == "jsonb":
        return msgspec.json.encode(value).decode()
    if value is None:
        return None
    if type_ == "boolean":
        return int(value)
    if type_ == "timestamptz":
        return value.astimezone(dt.UTC)
    if type_ == "uuid" and not isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    return value


def _rows(mapping: Mapping, scope: q.TenancyScope, batch: ChangeBatch) -> list[list[Any]]:
    """The batch as rows of the ClickHouse table (``columns`` order)."""
    types = [c.type for c in mapping.columns]
    out = []
    for row in batch.rows:
        values = [_value(t, v) for t, v in zip(types, row[:-2], strict=True)]
        out.append([scope.project_id, scope.branch_id, *values, int(row[-2]), int(bool(row[-1]))])
    # A tombstone carries its key; the other columns get fillers the views never show.
    for key, seq in batch.tombstones:
        values = [None] * len(mapping.columns)
        for column, field in zip(mapping.key, mapping.row_key_fields, strict=True):
            i = mapping.column_names.index(column)
            values[i] = _value(types[i], key.get(field))
        out.append([scope.project_id, scope.branch_id, *values, seq, 1])
    return out


def columns(mapping: Mapping) -> list[str]:
    return ["project_id", "branch_id", *mapping.column_names, "sync_sequence_id", "sync_is_deleted"]


async def _copy_tenancy(
    deps: Deps, tables: SyncTables, tenancy_id: uuid.UUID, batch_size: int, budget: Budget
) -> bool:
    """Copy the tenancy's changes numbered so far; whether it is done (False: out of time, or
    another call holds it). Raise StoreUnavailableError or SyncTableError."""
    async with deps.pool.connection() as lock_conn, lock_conn.transaction():
        if not await q.take_clickhouse_turn(lock_conn, tenancy_id):
            return False
        async with deps.pool.connection() as conn:
            scope = await q.select_tenancy_scope(conn, tenancy_id)
            if scope is None:
                return True
            upto = await q.select_upto(conn, tenancy_id)
            recorded = {
                row.mapping: row.last_synced_sequence_id or 0
                for row in await sync_q.select_status(conn, tenancy_id)
                if row.target_id == CLICKHOUSE_TARGET_ID
            }
        for mapping in MAPPINGS:
            last = recorded.get(mapping.name, 0)
            while last < upto:
                if not budget.allows():
                    return False
                batch = await read_batch(deps, mapping, Window(tenancy_id, last, upto, batch_size))
                rows = _rows(mapping, scope, batch)
                if rows:
                    await tables.insert(mapping.name, columns(mapping), rows)
                budget.batches += 1
                last = batch.end
                async with deps.pool.connection() as conn:
                    await q.record_progress(
                        conn, tenancy_id, CLICKHOUSE_TARGET_ID, mapping.name, last
                    )
            if mapping.name not in recorded or last == recorded[mapping.name]:
                # Nothing to copy: still say the target is current (and clear an old error).
                async with deps.pool.connection() as conn:
                    await q.record_progress(
                        conn, tenancy_id, CLICKHOUSE_TARGET_ID, mapping.name, last
                    )
    return True


async def copy_to_clickhouse(
    deps: Deps, tenancy_ids: list[uuid.UUID], deadline: float
) -> list[uuid.UUID]:
    """Copy each tenancy's numbered changes to ClickHouse until ``deadline``; those not done (out
    of time, busy elsewhere, or ClickHouse failing: its status then says why). Never raises for
    ClickHouse: once it cannot be reached, the remaining tenancies get that error too."""
    tables = deps.analytics.sync_tables
    batch_size = deps.settings.external_db_sync_batch_size
    budget = Budget(deadline)
    unfinished: list[uuid.UUID] = []
    down: str | None = None
    for tenancy_id in tenancy_ids:
        error = down
        if error is None:
            try:
                if await _copy_tenancy(deps, tables, tenancy_id, batch_size, budget):
                    continue
            except StoreUnavailableError as exc:
                error = down = f"ClickHouse unavailable: {exc}"[:MAX_ERROR_CHARS]
            except SyncTableError as exc:
                error = f"ClickHouse refused the rows: {exc}"[:MAX_ERROR_CHARS]
        unfinished.append(tenancy_id)
        if error is not None:
            log.warning("clickhouse sync failed", tenancy_id=str(tenancy_id), error=error)
            async with deps.pool.connection() as conn:
                await q.record_error(
                    conn, tenancy_id, CLICKHOUSE_TARGET_ID, list(MAPPING_NAMES), error
                )
    return unfinished
