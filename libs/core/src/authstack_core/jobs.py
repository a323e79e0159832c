"""Job contracts (queue, actor name, payload) and the Redis broker every service shares.

A service enqueues a job by its contract, never by importing the worker's code. Jobs carry ids of
rows in PostgreSQL, which stays the source of truth: a job that Redis loses is found again by the
cron step, and a job delivered twice finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import redis
import structlog
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from authstack_core.observability import series
from authstack_core.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """Where a job goes: the dramatiq queue and actor name both sides agree on."""

    queue: str
    actor: str


# Deliver one email_outbox row. Args: (outbox_id: str).
SEND_EMAIL = Job(queue="emails", actor="send_email")
# Deliver a project's queued webhook events and due deliveries. Args: (tenancy_id: str).
DELIVER_WEBHOOKS = Job(queue="webhooks", actor="deliver_webhooks")
# Sync one tenancy's numbered changes to its external databases (the sync engine; the poller of
# /internal/external-db-sync sends it). Args: (tenancy_id: str).
SYNC_TENANCY = Job(queue="external_db_sync", actor="sync_tenancy")


class EnqueueError(Exception):
    """Redis did not take the message (down or unreachable); the outbox row is still safe."""


def make_broker(settings: Settings, middleware: Sequence[Middleware] | None = None) -> RedisBroker:
    """A dramatiq Redis broker on ``STACK_REDIS_URL`` under ``STACK_QUEUE_NAMESPACE``.

    Time-outs are short so that an unreachable Redis fails an enqueue quickly instead of holding a
    request; nothing is lost by failing, since the cron step re-enqueues from PostgreSQL.
    """
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=30,
    )
    return RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=settings.queue_namespace,
        middleware=list(middleware) if middleware is not None else None,
    )


class JobQueue:
    """Sends job messages by contract. Safe to share; the Redis client pools its connections."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker

    @classmethod
    def from_settings(cls, settings: Settings) -> JobQueue:
        return cls(make_broker(settings))

    def send_now(self, job: Job, *args: str, delay_seconds: float | None = None) -> None:
        """Enqueue one message (blocking); raise EnqueueError if Redis does not take it."""
        message: Message[None] = Message(
            queue_name=job.queue, actor_name=job.actor, args=args, kwargs={}, options={}
        )
        delay = None if not delay_seconds or delay_seconds <= 0 else int(delay_seconds * 1000)
        try:
            self.broker.enqueue(message, delay=delay)
        except redis.RedisError as exc:
            series.redis_error("jobs")
            raise EnqueueError(f"{type(exc).__name__}: {exc}") from exc

    async def send(
        self, job: Job, payloads: Sequence[tuple[str, ...]], *, delay_seconds: float | None = None
    ) -> int:
        """Enqueue one message per payload off the event loop; return how many Redis took.

        Stops at the first failure (Redis is then most likely down for the rest too) and raises
        EnqueueError only if not even the first message was taken.
        """
        if not payloads:
            return 0

        def run() -> int:
            sent = 0
            for args in payloads:
                try:
                    self.send_now(job, *args, delay_seconds=delay_seconds)
                except EnqueueError:
                    if sent == 0:
                        raise
                    break
                sent += 1
            return sent

        return await anyio.to_thread.run_sync(run)

    async def send_sync_tenancy(self, tenancy_id: str) -> None:
        """Ask the sync engine to sync one tenancy; raise EnqueueError if Redis does not take it."""
        await self.send(SYNC_TENANCY, [(tenancy_id,)])

    def close(self) -> None:
        self.broker.client.close()
