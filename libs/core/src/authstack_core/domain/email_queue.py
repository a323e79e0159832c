"""The email queue's cron step: give back rows whose worker died, and re-send lost wake-ups."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from authstack_core.db.queries import email_outbox as q
from authstack_core.domain.context import Deps
from authstack_core.jobs import SEND_EMAIL, EnqueueError

log = structlog.get_logger(__name__)

_STEP_BATCH = 500


class QueueUnavailableError(Exception):
    """Redis did not take the wake-ups; the rows are kept and the next cron step retries."""


@dataclass(frozen=True, slots=True)
class QueueStep:
    released: int  # rows whose sending lease ran out, given back (or failed on their last try)
    requeued: int  # rows whose wake-up was missing or overdue, enqueued again


async def queue_step(deps: Deps) -> QueueStep:
    """Recover what Redis or a worker lost; raise QueueUnavailableError if Redis does not answer.

    Bounded: at most a few thousand rows per call, so a cron tick never runs away.
    """
    settings = deps.settings
    released = requeued = 0
    for _ in range(10):
        async with deps.pool.connection() as conn, conn.transaction():
            rows = await q.release_expired_leases(
                conn, max_attempts=settings.email_max_attempts, limit=_STEP_BATCH
            )
        released += len(rows)
        if len(rows) < _STEP_BATCH:
            break
    for _ in range(10):
        async with deps.pool.connection() as conn, conn.transaction():
            ids = await q.take_lost_wakeups(
                conn, requeue_after=settings.email_requeue_after_seconds, limit=_STEP_BATCH
            )
        if not ids:
            break
        try:
            taken = await deps.jobs.send(SEND_EMAIL, [(str(i),) for i in ids])
        except EnqueueError:
            taken = 0
        if taken < len(ids):
            async with deps.pool.connection() as conn, conn.transaction():
                await q.clear_wakeup(conn, ids[taken:])
            requeued += taken
            raise QueueUnavailableError(f"Redis took {taken} of {len(ids)} wake-ups")
        requeued += taken
        if len(ids) < _STEP_BATCH:
            break
    if released or requeued:
        log.info("email queue step", released=released, requeued=requeued)
    return QueueStep(released=released, requeued=requeued)
