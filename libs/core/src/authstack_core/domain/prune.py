"""``POST /internal/prune-expired`` (the cron's, hourly): delete rows long past their expiry.

Rows that expire are otherwise kept forever: verification codes (emailed codes, invitations),
OAuth flows and authorization codes never taken, CLI sign-in attempts, and sessions (refresh
tokens) that expired. A row goes once its expiry is ``STACK_PRUNE_GRACE_DAYS`` (7) days past;
until then an expired code is still answered as expired rather than unknown. Sessions that never
expire are never pruned, and an expired session only once its last use is older than the
metrics' activity window (it still counts there). Nothing else is pruned here.

Each batch deletes at most ``batch_size`` rows of one table in a short transaction of its own.
A pass gives each table whose backlog is not done one batch, so a large backlog in one table
does not hold up the others; passes repeat until every table's last batch came back short (done)
or the time is up, checked before each batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from authstack_core.db.queries import prune as q
from authstack_core.domain.context import Deps
from authstack_core.models.metrics import WINDOW_DAYS
from authstack_core.observability import series

log = structlog.get_logger(__name__)

BATCH_SIZE = 5000
DEFAULT_DURATION_MS = 20_000
MAX_DURATION_MS = 60_000  # as the sync endpoints
# The metrics' window is today (UTC) and the WINDOW_DAYS days before it: a day more covers it.
ACTIVITY_WINDOW = timedelta(days=WINDOW_DAYS + 1)
TABLES = q.TABLES


@dataclass(frozen=True, slots=True)
class PruneResult:
    deleted: dict[str, int]  # table -> rows deleted by this call, for every table in TABLES
    complete: bool  # False: the time ran out with rows (maybe) left; the next call goes on

    def json(self) -> dict[str, Any]:
        return {"ok": True, "deleted": self.deleted, "complete": self.complete}


def budget_seconds(max_duration_ms: int | None) -> float:
    """The call's time budget: ``maxDurationMs`` (default 20 s), between 0 and 60 s."""
    wanted = DEFAULT_DURATION_MS if max_duration_ms is None else max_duration_ms
    return min(max(wanted, 0), MAX_DURATION_MS) / 1000


async def prune_expired(
    deps: Deps,
    max_duration_ms: int | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    clock: Callable[[], float] = time.monotonic,
) -> PruneResult:
    """Delete, table by table in bounded batches, the rows whose expiry passed the grace period
    ago, until none is left or ``max_duration_ms`` is spent (``complete`` then False)."""
    grace = timedelta(days=deps.settings.prune_grace_days)
    started = clock()
    deadline = started + budget_seconds(max_duration_ms)
    deleted = dict.fromkeys(TABLES, 0)
    pending = list(TABLES)
    while pending and clock() < deadline:
        for table in list(pending):
            if clock() >= deadline:
                break
            async with deps.pool.connection() as conn, conn.transaction():
                count = await q.delete_expired(
                    conn, table, grace=grace, activity=ACTIVITY_WINDOW, limit=batch_size
                )
            deleted[table] += count
            if count < batch_size:
                pending.remove(table)
    result = PruneResult(deleted, complete=not pending)
    series.pruned_rows(deleted)
    log.info(
        "expired rows pruned",
        deleted=deleted,
        complete=result.complete,
        grace_days=deps.settings.prune_grace_days,
        duration_ms=round((clock() - started) * 1000),
    )
    return result
