"""Webhook events (contract §7.3), recorded in the outbox inside the caller's transaction, and the
wake-ups that tell the worker after commit.

Callers only ``record``: the API wraps every request in ``wakeups_after`` (see
``authstack_api.app``), which notes each project an event was recorded for and, once the
request is over and its transactions are finished, sends the worker one wake-up per project.
An event whose wake-up is lost (Redis down, a crash between commit and send) is found by the cron
step (``webhook_delivery.queue_step``); a wake-up for a transaction that rolled back finds
nothing to do.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from contextvars import ContextVar
from typing import Any

import structlog
from psycopg import AsyncConnection

from authstack_core.db.queries import webhooks as q
from authstack_core.domain.context import Deps
from authstack_core.jobs import DELIVER_WEBHOOKS, EnqueueError
from authstack_core.models.projects import TenantProject
from authstack_core.models.webhooks import EVENT_TYPES, EventType

log = structlog.get_logger(__name__)
__all__ = ["EVENT_TYPES", "EventType", "enqueue_deliveries", "record", "wakeups_after"]

# The projects whose events the current request (or job) recorded; None outside wakeups_after.
_recorded: ContextVar[set[uuid.UUID] | None] = ContextVar("webhook_tenancies", default=None)


async def record(
    conn: AsyncConnection[Any], project: TenantProject, event_type: EventType, data: dict[str, Any]
) -> None:
    """Append one event; it is delivered only if the surrounding transaction commits.

    The payload is what receivers get: ``{type, data}``.
    """
    await q.insert_event(
        conn, project.tenancy_id, project.id, event_type, {"type": event_type, "data": data}
    )
    recorded = _recorded.get()
    if recorded is not None:
        recorded.add(project.tenancy_id)


@contextlib.asynccontextmanager
async def wakeups_after(deps: Deps) -> AsyncIterator[None]:
    """Collect the projects whose events the block records; wake the worker for them after it.

    The block must have finished its transactions when it ends (a request handler has).
    """
    recorded: set[uuid.UUID] = set()
    token = _recorded.set(recorded)
    try:
        yield
    finally:
        _recorded.reset(token)
        if recorded:
            await enqueue_deliveries(deps, recorded)


async def enqueue_deliveries(
    deps: Deps, tenancy_ids: Iterable[uuid.UUID], *, delay_seconds: float | None = None
) -> None:
    """Send a wake-up per project. Never raises for Redis trouble: the events are safe in
    PostgreSQL and the cron step enqueues them later."""
    payloads = [(str(t),) for t in tenancy_ids]
    try:
        taken = await deps.jobs.send(DELIVER_WEBHOOKS, payloads, delay_seconds=delay_seconds)
    except EnqueueError as exc:
        log.warning("webhook wake-up not enqueued; the cron step will", error=str(exc))
        return
    if taken < len(payloads):
        log.warning(
            "webhook wake-ups missing; the cron step will send them", missing=len(payloads) - taken
        )
