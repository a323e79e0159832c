"""What ``GET /health/ready`` checks: each dependency the API is configured with, concurrently,
each within ``STACK_HEALTH_CHECK_TIMEOUT_SECONDS``.

* ``postgres``: a pool connection answers ``SELECT 1`` (so it also proves the pool recovered);
* ``redis``: ``PING`` on a connection of its own (rate limits and worker wake-ups live there);
* ``clickhouse``: the server's ``/ping``, when ``STACK_CLICKHOUSE_URL`` names a server (the
  embedded engine is part of the process, not a dependency to wait for);
* ``s3``: a HEAD of both buckets, when ``STACK_S3_ENDPOINT`` is set.

Only the checks named in ``STACK_HEALTH_READY_REQUIRED`` (default: postgres and redis) make the
answer "not ready"; the others are reported. Answers say which check failed and how (a time-out
or an error's class name), never an address, a user name or a message from the dependency: those
go to the log, once per change of state. Calls arriving together share one run, and a run's
answer is reused for ``REUSE_S``, so a flood of probes costs each dependency one check a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import structlog
from psycopg_pool import AsyncConnectionPool

from authstack_core.redis_pipe import RedisPipe
from authstack_core.settings import Settings
from authstack_core.storage import ObjectStore

log = structlog.get_logger(__name__)

REUSE_S = 1.0
Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    required: bool
    ms: float
    error: str | None = None

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.ok else "error",
            "required": self.required,
            "ms": round(self.ms, 1),
        }
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True, slots=True)
class Report:
    outcomes: dict[str, Outcome]

    @property
    def failed(self) -> list[str]:
        """The required checks that failed (these make the API not ready)."""
        return [name for name, o in self.outcomes.items() if o.required and not o.ok]

    @property
    def ready(self) -> bool:
        return not self.failed

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ready else "error"}
        if not self.ready:
            body["failed"] = self.failed
        body["checks"] = {name: o.json() for name, o in self.outcomes.items()}
        return body


class Readiness:
    """The checks of one process; ``report()`` runs them (or reuses a fresh or running run)."""

    def __init__(self, checks: dict[str, Check], required: Iterable[str], timeout_s: float) -> None:
        self.checks = checks
        self.required = frozenset(required) & checks.keys()
        self.timeout_s = timeout_s
        self._running: asyncio.Task[Report] | None = None
        self._last: tuple[float, Report] | None = None
        self._failing: set[str] = set()
        self._closers: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    def build(
        cls, settings: Settings, pool: AsyncConnectionPool, storage: ObjectStore | None
    ) -> Readiness:
        timeout = settings.health_check_timeout_seconds
        redis = RedisPipe(settings.redis_url, timeout)

        async def postgres() -> None:
            async with pool.connection(timeout=timeout) as conn:
                await conn.execute("SELECT 1")

        async def ping_redis() -> None:
            await redis.call("PING")

        checks: dict[str, Check] = {"postgres": postgres, "redis": ping_redis}
        closers: list[Callable[[], Awaitable[None]]] = []

        async def close_redis() -> None:
            redis.close()

        closers.append(close_redis)
        if settings.clickhouse_store == "server":
            parts = urlsplit(settings.clickhouse_url)
            # /ping needs no credentials: the user and password never leave the settings.
            ping_url = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/ping", "", ""))
            client = httpx.AsyncClient(timeout=timeout, trust_env=False)

            async def clickhouse() -> None:
                (await client.get(ping_url)).raise_for_status()

            checks["clickhouse"] = clickhouse
            closers.append(client.aclose)
        if storage is not None:
            # One HEAD at a time: a check abandoned on its time-out keeps its thread until boto3's
            # own time-outs end it, and the next check then times out waiting rather than pile up.
            one_at_a_time = anyio.CapacityLimiter(1)

            async def s3() -> None:
                await anyio.to_thread.run_sync(
                    storage.check, abandon_on_cancel=True, limiter=one_at_a_time
                )

            checks["s3"] = s3
        readiness = cls(checks, settings.health_ready_required, timeout)
        readiness._closers = closers
        return readiness

    async def report(self) -> Report:
        if self._last is not None and time.monotonic() - self._last[0] < REUSE_S:
            return self._last[1]
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._run())
        # Shielded: a caller that goes away does not cancel the run the others wait for.
        return await asyncio.shield(self._running)

    async def _run(self) -> Report:
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._one(name) for name in names))
        report = Report(dict(zip(names, outcomes, strict=True)))
        self._last = (time.monotonic(), report)
        return report

    async def _one(self, name: str) -> Outcome:
        required = name in self.required
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.checks[name]()
        except Exception as exc:
            ms = (time.perf_counter() - started) * 1000
            timed_out = isinstance(exc, TimeoutError)
            error = f"timed out after {self.timeout_s:g} s" if timed_out else type(exc).__name__
            if name not in self._failing:
                self._failing.add(name)
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                log.warning("readiness check failing", check=name, required=required, reason=reason)
            return Outcome(False, required, ms, error)
        if name in self._failing:
            self._failing.discard(name)
            log.info("readiness check passing again", check=name)
        return Outcome(True, required, (time.perf_counter() - started) * 1000)

    async def aclose(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()
        for close in self._closers:
            await close()
