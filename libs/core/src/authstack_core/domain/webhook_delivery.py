"""Webhook delivery (the worker's side): dispatch a project's events, then send each lane in order.

One wake-up names a project. Its queued events become deliveries, one per endpoint that wants the
event (or one to the project's Svix application), in the order the events became visible. The
deliveries to one endpoint form a lane, sent by one worker at a time (an advisory lock on its
connection, which PostgreSQL drops if the worker dies) in id order: a message's first attempt
never goes out before an earlier message's first attempt has been answered. A failed attempt is
retried on the schedule (STACK_WEBHOOKS_RETRY_SCHEDULE) without holding up the messages behind
it, except that a target that does not answer at all stops its lane until the next wake-up rather
than burning every message's attempts at once. Only the same one code path is above the two
modes; they differ in how one message is sent (``webhook_transport``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Literal, Protocol

import structlog
from psycopg import AsyncConnection

from authstack_core.crypto.sealing import SealError
from authstack_core.db.queries import webhook_deliveries as q
from authstack_core.db.queries import webhooks as endpoints_q
from authstack_core.domain.context import Deps
from authstack_core.domain.email_queue import QueueUnavailableError
from authstack_core.domain.webhook_endpoints import open_secret
from authstack_core.domain.webhooks import enqueue_deliveries
from authstack_core.jobs import DELIVER_WEBHOOKS, EnqueueError
from authstack_core.models.config import ProjectConfig
from authstack_core.models.webhooks import (
    SVIX_LANE,
    ClaimedDelivery,
    EndpointTarget,
    Outcome,
    message_id,
)
from authstack_core.observability import series
from authstack_core.webhook_transport import HttpSender, SvixSender, body_of

log = structlog.get_logger(__name__)

BATCH = 20  # deliveries claimed at once on a lane (one statement to claim, one to record)
FAN_OUT_BATCH = 500
LANE_BUDGET_SECONDS = 30.0  # then the lane goes on in a fresh wake-up (bounded actor time)
LANES_AT_ONCE = 4  # per wake-up; each lane holds a database connection while it runs
STEP_LIMIT = 2000
UNREACHABLE_WAIT_SECONDS = 5.0  # before a stopped lane tries again, when there are no retries

LaneEnd = Literal["drained", "stopped", "budget"]


class _LaneSender(Protocol):
    async def send(self, item: ClaimedDelivery) -> Outcome: ...

    async def aclose(self) -> None: ...


class _EndpointLane:
    def __init__(self, http: HttpSender) -> None:
        self.http = http

    async def send(self, item: ClaimedDelivery) -> Outcome:
        return await self.http.send(message_id(item.event_id), body_of(item.payload))

    async def aclose(self) -> None:
        await self.http.aclose()


class _SvixLane:
    def __init__(self, svix: SvixSender) -> None:
        self.svix = svix

    async def send(self, item: ClaimedDelivery) -> Outcome:
        return await self.svix.send(item.project_id, str(item.event_id), item.payload)

    async def aclose(self) -> None:
        pass  # the Svix client is the process's


class Deliverer:
    """What the worker's actor calls; one per process (it holds the Svix client)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        settings = deps.settings
        self.schedule = settings.webhooks_retry_schedule
        self.max_attempts = len(self.schedule) + 1
        self.svix: SvixSender | None = None
        if settings.svix_api_key:  # the svix package is imported only in Svix mode
            from authstack_core.domain.webhook_svix import sender_for  # noqa: PLC0415

            self.svix = sender_for(settings)

    async def deliver(self, tenancy: str) -> None:
        """Dispatch the project's queued events and run its due lanes."""
        try:
            tenancy_id = uuid.UUID(tenancy)
        except ValueError:
            log.warning("webhook wake-up with a malformed project id ignored")
            return
        pool = self.deps.pool
        while True:
            async with pool.connection() as conn, conn.transaction():
                made = await q.fan_out(
                    conn, tenancy_id, svix=self.svix is not None, limit=FAN_OUT_BATCH
                )
            if made < FAN_OUT_BATCH:
                break
        async with pool.connection() as conn:
            lanes = await q.due_lanes(conn, tenancy_id)
        slots = asyncio.Semaphore(LANES_AT_ONCE)

        async def run(endpoint_id: uuid.UUID) -> None:
            async with slots:
                await self._lane(tenancy_id, endpoint_id)

        results = await asyncio.gather(*(run(e) for e in lanes), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # after every lane had its turn; dramatiq retries the wake-up

    async def _lane(self, tenancy_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        while True:
            async with self.deps.pool.connection() as conn:
                async with conn.transaction():
                    if not await q.try_lock(conn, tenancy_id, endpoint_id):
                        return  # another worker has the lane; it checks again when done
                try:
                    end = await self._run_locked(conn, tenancy_id, endpoint_id)
                finally:
                    if not conn.broken:
                        async with conn.transaction():
                            await q.unlock(conn, tenancy_id, endpoint_id)
                if end == "budget":
                    await enqueue_deliveries(self.deps, [tenancy_id])
                    return
                if end == "stopped":
                    return  # the failed attempt's retry wakes the lane again
                # A wake-up that came while the lane was locked gave up: look once more.
                async with conn.transaction():
                    if not await q.lane_is_due(conn, tenancy_id, endpoint_id):
                        return

    async def _run_locked(
        self, conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> LaneEnd:
        async with conn.transaction():
            if await q.recover(conn, tenancy_id, endpoint_id, self.max_attempts):
                log.warning("webhook deliveries left by a stopped worker taken back")
            sender = await self._sender(conn, tenancy_id, endpoint_id)
        if sender is None:
            return "drained"
        deadline = time.monotonic() + LANE_BUDGET_SECONDS
        try:
            while True:
                async with conn.transaction():
                    batch = await q.claim(conn, tenancy_id, endpoint_id, BATCH)
                if not batch:
                    return "drained"
                sent: list[tuple[ClaimedDelivery, Outcome]] = []
                for item in batch:
                    outcome = await sender.send(item)
                    sent.append((item, outcome))
                    if outcome.stop_lane and not outcome.ok:
                        break
                await self._record(conn, tenancy_id, sent, batch[len(sent) :])
                if len(sent) < len(batch):
                    return "stopped"
                if time.monotonic() > deadline:
                    return "budget"
        finally:
            await sender.aclose()

    async def _sender(
        self, conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> _LaneSender | None:
        """How the lane sends; None (its deliveries closed) when it cannot send at all."""
        if endpoint_id == SVIX_LANE:
            if self.svix is not None:
                return _SvixLane(self.svix)
            await q.fail_open(
                conn, tenancy_id, endpoint_id, "Svix is not configured (STACK_SVIX_API_KEY)"
            )
            return None
        target = await endpoints_q.select_endpoint(conn, tenancy_id, endpoint_id, EndpointTarget)
        if target is None:
            await q.drop_lane(conn, tenancy_id, endpoint_id)
            return None
        if target.disabled:
            await q.fail_open(conn, tenancy_id, endpoint_id, "the endpoint is disabled")
            return None
        try:
            secret = open_secret(self.deps.settings, endpoint_id, target.secret_sealed)
        except SealError:
            await q.fail_open(
                conn,
                tenancy_id,
                endpoint_id,
                "the signing secret cannot be opened (was STACK_SERVER_SECRET changed?); "
                "rotate the endpoint's secret",
            )
            return None
        config = ProjectConfig.from_levels(
            target.config_override,
            target.branch_config_override,
            target.environment_config_override,
        )
        return _EndpointLane(
            HttpSender(
                target.url,
                secret,
                allow_http=config.allow_localhost,
                allow_private=self.deps.settings.webhooks_private_allowed,
            )
        )

    def _retry_delay(self, item: ClaimedDelivery, outcome: Outcome) -> float | None:
        if outcome.ok or not outcome.retry or item.attempt_count > len(self.schedule):
            return None
        return self.schedule[item.attempt_count - 1]

    async def _record(
        self,
        conn: AsyncConnection[Any],
        tenancy_id: uuid.UUID,
        sent: list[tuple[ClaimedDelivery, Outcome]],
        unsent: list[ClaimedDelivery],
    ) -> None:
        rows = [
            (item, o.ok, o.status_code, o.error and o.error[:1000], self._retry_delay(item, o))
            for item, o in sent
        ]
        async with conn.transaction():
            await q.record(conn, rows)
            if unsent:
                await q.release(conn, [d.id for d in unsent])
        series.webhook_deliveries((r[1], r[4]) for r in rows)
        for item, outcome in sent:
            if not outcome.ok:
                log.info(
                    "webhook attempt failed",
                    message_id=message_id(item.event_id),
                    attempt=item.attempt_count,
                    error=outcome.error,
                )
        # One delayed wake-up per distinct retry time (a lost one is the cron step's to find);
        # a stopped lane tries its next message after the first retry's wait.
        delays = {round(r[4], 1) for r in rows if r[4] is not None}
        if unsent:
            delays.add(self.schedule[0] if self.schedule else UNREACHABLE_WAIT_SECONDS)
        for delay in sorted(delays):
            await enqueue_deliveries(self.deps, [tenancy_id], delay_seconds=delay)


async def queue_step(deps: Deps) -> int:
    """Wake the worker for every project whose wake-up is overdue (lost with Redis, or a worker
    died holding its lane); raise QueueUnavailableError if Redis does not take them. Bounded."""
    async with deps.pool.connection() as conn:
        ids = await q.overdue_tenancies(
            conn, requeue_after=deps.settings.webhooks_requeue_after_seconds, limit=STEP_LIMIT
        )
    if not ids:
        return 0
    try:
        taken = await deps.jobs.send(DELIVER_WEBHOOKS, [(str(t),) for t in ids])
    except EnqueueError:
        taken = 0
    if taken < len(ids):
        raise QueueUnavailableError(f"Redis took {taken} of {len(ids)} webhook wake-ups")
    log.info("webhook queue step", requeued=taken)
    return taken
