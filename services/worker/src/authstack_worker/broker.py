"""The worker's broker: the shared Redis broker plus the event loop and logging middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
import structlog
from dramatiq import Broker, Worker
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Middleware, default_middleware

from authstack_core.jobs import Job, make_broker
from authstack_core.settings import Settings


class ServiceLoop(AsyncIO):
    """dramatiq's event loop thread for async actors, plus start and stop hooks run on it.

    ``on_start`` runs before any worker thread takes a message (e.g. opening the database pool
    on the loop that will use it); ``on_stop`` after the last one has finished.
    """

    def __init__(
        self, on_start: Callable[[], Awaitable[None]], on_stop: Callable[[], Awaitable[None]]
    ) -> None:
        super().__init__()
        self.on_start = on_start
        self.on_stop = on_stop

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        super().before_worker_boot(broker, worker)  # type: ignore[no-untyped-call]
        loop = get_event_loop_thread()
        assert loop is not None
        loop.run_coroutine(self.on_start())

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        loop = get_event_loop_thread()
        if loop is not None:
            loop.run_coroutine(self.on_stop())
        super().after_worker_shutdown(broker, worker)  # type: ignore[no-untyped-call]


class BindMessageId(Middleware):
    """Every log line written while a message is processed carries its ``message_id``."""

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        # Worker threads start with an empty context: bind the service name here too.
        structlog.contextvars.bind_contextvars(
            service="worker", message_id=message.message_id, actor=message.actor_name
        )

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.unbind_contextvars("message_id", "actor")

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        structlog.contextvars.unbind_contextvars("message_id", "actor")


def declare_actor(
    broker: Broker,
    job: Job,
    fn: Callable[..., Awaitable[None]],
    *,
    time_limit_ms: int,
    max_retries: int = 3,
    max_backoff_ms: int = 30000,
) -> None:
    """Declare ``fn`` as the actor of ``job`` (name and queue from the job contract).

    dramatiq's own retries cover infrastructure trouble (the database down); the outbox rows keep
    their own retry schedules, and claiming them makes a repeated message harmless.
    """
    dramatiq.actor(
        broker=broker,
        actor_name=job.actor,
        queue_name=job.queue,
        max_retries=max_retries,
        min_backoff=1000,
        max_backoff=max_backoff_ms,
        time_limit=time_limit_ms,
    )(fn)


def make_worker_broker(settings: Settings, loop: ServiceLoop) -> RedisBroker:
    """dramatiq's default middleware (retries, time limits, ...) plus ours."""
    middleware: list[Middleware] = [m() for m in default_middleware]
    middleware += [loop, BindMessageId()]
    return make_broker(settings, middleware)
