"""The external database sync engine (contract §7.2): copy a tenancy's numbered changes to each
PostgreSQL database its config names, batch by batch, idempotently.

Per target and mapping, one target transaction per batch: lock the mapping's metadata row, read
our rows and tombstones numbered in (last, end], upsert the rows, delete the tombstoned keys and
move the metadata to ``end``. A crash rolls the batch back; a batch applied twice changes nothing.
``upto`` is fixed when the run starts, so a run ends however fast changes arrive (the sequencer
queues the next one). A target that fails is recorded in ``external_db_sync_status`` (without its
connection string) and the run goes on with the next; ``SyncIncompleteError`` tells the caller to
retry later.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from authstack_core.db import external_target as target_sql
from authstack_core.db.queries import config as config_q
from authstack_core.db.queries import external_db_sync_engine as q
from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_secrets import ConnectionStringError, open_sealed
from authstack_core.models.external_db_sync import (
    MAPPING_NAMES,
    MAPPINGS,
    ExternalDatabase,
    Mapping,
    Window,
    external_databases,
)
from authstack_core.outbound import OutboundAddressError, resolve_public

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT_S = 10
DEFAULT_BATCH_SIZE = 1000
MAX_ERROR_CHARS = 500
# What a connection string may set. Others could make libpq read the worker's own files
# (service, passfile, sslkey, ...) or change how it connects (hostaddr: we set it ourselves).
ALLOWED_PARAMS = frozenset(
    {"host", "port", "dbname", "user", "password", "sslmode", "application_name"}
)


class TargetError(Exception):
    """A target could not be synced; the message is safe to store and show (no secrets)."""


class SyncIncompleteError(Exception):
    """Some targets failed (their status says why); run again later."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(slots=True)
class SyncReport:
    """What one run did: rows upserted and keys deleted per target, and failed targets."""

    upto: int = 0
    upserted: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def safe_message(exc: BaseException, secrets: list[str]) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return text[:MAX_ERROR_CHARS]


def _target_params(plain: str) -> dict[str, str]:
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(plain).items()}
    except psycopg.ProgrammingError:
        raise TargetError("the connection string is not a valid PostgreSQL URL") from None
    unknown = sorted(set(params) - ALLOWED_PARAMS)
    if unknown:
        raise TargetError(f"the connection string may not set: {', '.join(unknown)}")
    host = params.get("host", "")
    if not host or "," in host or host.startswith("/"):
        raise TargetError("the connection string must name one host (no list, no local socket)")
    return params


def secrets_of(plain: str) -> list[str]:
    """What an error about ``plain`` must never show: the string and its password."""
    try:
        password = str(conninfo_to_dict(plain).get("password") or "")
    except psycopg.ProgrammingError:
        password = ""
    return [plain, password]


async def connect_target(
    deps: Deps, plain: str, *, connect_timeout_s: int = CONNECT_TIMEOUT_S
) -> AsyncConnection[Any]:
    """An autocommit connection to the target ``plain`` names, refused (TargetError) when its
    host is internal and the deployment does not allow private networks. The host is resolved
    once and checked; libpq connects to that checked address (``hostaddr``). Failing to connect
    raises TargetError too, its message free of the connection string and password."""
    try:
        return await _connect(deps, plain, connect_timeout_s)
    except (psycopg.Error, OSError) as exc:
        raise TargetError(safe_message(exc, secrets_of(plain))) from None


async def _connect(deps: Deps, plain: str, connect_timeout_s: int) -> AsyncConnection[Any]:
    params = _target_params(plain)
    port = int(params.get("port") or 5432)
    allow_private = deps.settings.outbound_allow_private_networks
    try:
        addresses = await resolve_public(params["host"], port, allow_private=allow_private)
    except OutboundAddressError as exc:
        raise TargetError(
            f"{exc}: external databases must be on a public network (the operator may allow "
            "private networks with STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS)"
        ) from None
    except OSError as exc:
        raise TargetError(f"the host {params['host']} does not resolve ({exc})") from None
    conninfo = make_conninfo(
        "",
        **{
            **params,
            "port": str(port),
            "hostaddr": str(addresses[0].sockaddr[0]),
            "connect_timeout": str(connect_timeout_s),
            "passfile": os.devnull,
        },
    )
    conn = await AsyncConnection.connect(conninfo, autocommit=True)
    await conn.execute("SET statement_timeout = '60s'")
    await conn.execute("SET lock_timeout = '30s'")
    return conn


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """A mapping's changes numbered in (window.after, end]: source rows (the mapping's columns,
    then the sequence id and whether the target must lose the row) and tombstones (row_key,
    sequence id), in sequence order."""

    end: int
    rows: list[tuple[Any, ...]]
    tombstones: list[tuple[dict[str, Any], int]]


async def read_batch(deps: Deps, mapping: Mapping, window: Window) -> ChangeBatch:
    """At most ``window.limit`` rows and as many tombstones of ``mapping`` numbered in the window,
    ending where the shorter of the two full lists ends, so neither skips ahead of the other."""
    async with deps.pool.connection() as conn:
        rows = await q.select_changed(conn, mapping.name, window)
        tombs = await q.select_tombstones(conn, mapping.name, window)
    end = window.upto
    if len(rows) == window.limit:
        end = min(end, int(rows[-1][-2]))
    if len(tombs) == window.limit:
        end = min(end, tombs[-1][1])
    return ChangeBatch(
        end, [r for r in rows if int(r[-2]) <= end], [t for t in tombs if t[1] <= end]
    )


async def _apply_batch(
    deps: Deps,
    target: AsyncConnection[Any],
    mapping: Mapping,
    tenancy_id: uuid.UUID,
    upto: int,
    batch_size: int,
) -> tuple[int, int, int, bool]:
    """One batch in one target transaction: (new last id, rows upserted, keys deleted, done)."""
    async with target.transaction():
        last = await target_sql.lock_progress(target, mapping)
        if last >= upto:
            return last, 0, 0, True
        batch = await read_batch(deps, mapping, Window(tenancy_id, last, upto, batch_size))
        end = batch.end
        keys = [[key.get(f) for f in mapping.row_key_fields] for key, _ in batch.tombstones]
        upserts = [r[:-2] for r in batch.rows if not r[-1]]
        keys += [
            [r[mapping.column_names.index(k)] for k in mapping.key] for r in batch.rows if r[-1]
        ]
        # Deletes first: a key deleted and inserted again in one batch ends up present.
        await target_sql.delete_keys(target, mapping, keys)
        await target_sql.upsert_rows(target, mapping, upserts)
        await target_sql.set_progress(target, mapping, end)
    return end, len(upserts), len(keys), end >= upto


async def _sync_target(
    deps: Deps,
    tenancy_id: uuid.UUID,
    project_id: str,
    database: ExternalDatabase,
    upto: int,
    batch_size: int,
    report: SyncReport,
) -> None:
    try:
        plain = open_sealed(deps.settings.server_secret, project_id, database.connection_string)
    except ConnectionStringError as exc:
        raise TargetError(str(exc)) from None
    target = await connect_target(deps, plain)
    try:
        async with target:
            await target_sql.ensure_schema(target, MAPPINGS)
            for mapping in MAPPINGS:
                done = False
                while not done:
                    last, upserted, deleted, done = await _apply_batch(
                        deps, target, mapping, tenancy_id, upto, batch_size
                    )
                    report.upserted[database.id] = report.upserted.get(database.id, 0) + upserted
                    report.deleted[database.id] = report.deleted.get(database.id, 0) + deleted
                async with deps.pool.connection() as conn:
                    await q.record_progress(conn, tenancy_id, database.id, mapping.name, last)
    except (psycopg.Error, OSError) as exc:
        raise TargetError(safe_message(exc, secrets_of(plain))) from None


async def sync_tenancy(
    deps: Deps, tenancy_id: str, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> SyncReport:
    """Bring every PostgreSQL target of the tenancy's config up to the changes numbered when the
    run starts. Each failing target is recorded in its status and skipped; raise SyncIncompleteError
    at the end if any failed (a tenancy that no longer exists has nothing to sync)."""
    tid = uuid.UUID(tenancy_id)
    report = SyncReport()
    async with deps.pool.connection() as conn:
        project_id = await q.select_project_of_tenancy(conn, tid)
        levels = (
            await config_q.share_levels(conn, project_id, tid) if project_id is not None else None
        )
        if project_id is None or levels is None:
            return report
        targets = [d for d in external_databases(levels.config().raw) if d.type == "postgres"]
        await q.forget_other_targets(conn, tid, [t.id for t in targets])
        report.upto = await q.select_upto(conn, tid)
    for database in targets:
        try:
            await _sync_target(deps, tid, project_id, database, report.upto, batch_size, report)
        except TargetError as exc:
            report.failed[database.id] = str(exc)
            log.warning("external db sync failed", target_id=database.id, error=str(exc))
            async with deps.pool.connection() as conn:
                await q.record_error(conn, tid, database.id, list(MAPPING_NAMES), str(exc))
    if report.failed:
        raise SyncIncompleteError(
            f"{len(report.failed)} of {len(targets)} targets failed: "
            + ", ".join(sorted(report.failed)),
            report,
        )
    return report
