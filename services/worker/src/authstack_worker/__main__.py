"""Entry point: ``python -m authstack_worker`` (or ``authstack-worker``) runs one worker process."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import dramatiq
import structlog

from authstack_core.db.pool import make_pool
from authstack_core.domain.context import Deps
from authstack_core.domain.webhook_delivery import Deliverer
from authstack_core.observability.sampler import Sampler
from authstack_core.observability.server import MetricsServer
from authstack_core.runtime import start
from authstack_core.settings import Settings
from authstack_worker.actors import emails, external_db_sync, webhooks
from authstack_worker.broker import ServiceLoop, make_worker_broker
from authstack_worker.smtp import SmtpPool

log = structlog.get_logger("authstack_worker")

SHUTDOWN_TIMEOUT_MS = 30_000
# An idle consumer polls Redis at most this far apart (dramatiq's default is 1 s): the worst
# wait a new email has before a worker picks it up. A poll is one cheap Lua call.
IDLE_POLL_MS = 200
# A webhook wake-up stops taking new batches after 30 s; a batch of slow answers (15 s each at
# most) can still take minutes.
WEBHOOK_TIME_LIMIT_MS = 10 * 60_000
# A sync run is bounded by the changes numbered when it starts; a first copy of a large project
# may take a while (a run cut short resumes from the target's own progress rows).
SYNC_TIME_LIMIT_MS = 30 * 60_000


def metrics_server(settings: Settings, sampler: Sampler) -> MetricsServer | None:
    """The worker's /metrics on STACK_WORKER_METRICS_PORT, started; None when that is unset."""
    if settings.worker_metrics_port is None:
        return None
    server = MetricsServer(
        settings.worker_metrics_host,
        settings.worker_metrics_port,
        token=settings.metrics_token,
        production=settings.is_production,
        before_scrape=sampler.sample,
    )
    server.start()
    log.info("metrics served", host=settings.worker_metrics_host, port=server.port)
    return server


def run(settings: Settings, stop: threading.Event) -> int:
    """Consume until ``stop`` is set, then finish in-flight messages and return the rest."""
    pool = make_pool(settings)
    deps = Deps.build(settings, pool)
    smtp = SmtpPool(timeout=settings.email_timeout_seconds, max_per_server=settings.worker_threads)

    async def on_start() -> None:
        await pool.open(wait=True, timeout=30)

    async def on_stop() -> None:
        await smtp.close()
        await pool.close()

    broker = make_worker_broker(settings, ServiceLoop(on_start, on_stop))
    lease_ms = int(settings.email_send_lease_seconds * 1000)
    emails.register(broker, emails.EmailDelivery(deps, smtp), time_limit_ms=lease_ms)
    webhooks.register(broker, Deliverer(deps), time_limit_ms=WEBHOOK_TIME_LIMIT_MS)
    external_db_sync.register(broker, deps, time_limit_ms=SYNC_TIME_LIMIT_MS)
    worker = dramatiq.Worker(
        broker, worker_threads=settings.worker_threads, worker_timeout=IDLE_POLL_MS
    )
    # Before the worker threads: a port already taken stops the process before it consumes.
    metrics = metrics_server(settings, Sampler(pool))
    worker.start()
    log.info(
        "worker started",
        queues=sorted(broker.get_declared_queues()),
        namespace=settings.queue_namespace,
        threads=settings.worker_threads,
    )
    try:
        stop.wait()
    finally:
        log.info("worker stopping")
        worker.stop(timeout=SHUTDOWN_TIMEOUT_MS)
        if metrics is not None:
            metrics.stop()
        deps.jobs.close()
        broker.close()
    return 0


def main() -> int:
    settings = start(Settings, "worker")
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    return run(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
