"""Call the maintenance endpoints with ``Authorization: Bearer $CRON_SECRET``, once or forever."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

HOUR_S = 3600.0


@dataclass(frozen=True)
class Endpoint:
    """One maintenance endpoint: how it is called, and how often by ``run_forever``."""

    path: str
    method: str = "GET"
    every: float = 0.0  # seconds between two calls by run_forever; 0: every tick


# Short name -> endpoint. The API re-enqueues pending outbox rows and drives external DB sync
# here; each call is idempotent on the API side, so a missed or repeated tick loses nothing. The
# sync steps work until nothing is left or maxDurationMs: a third of the period, well inside the
# call's timeout (left at its 60 s default they ran into it under a steady stream of changes).
# The failed-emails digest sends at most one mail per project and UTC day whatever the number of
# calls: hourly calls (the first on the first tick, so a restarted runner catches up) deliver each
# day's digest within an hour of 00:00 UTC. Pruning deletes rows long past their expiry, in
# batches, until done or its budget is spent; what is left waits for the next hour.
SYNC_BUDGET = "?maxDurationMs=20000"
ENDPOINTS: dict[str, Endpoint] = {
    "email-queue-step": Endpoint("/api/latest/internal/email-queue-step"),
    "external-db-sync-sequencer": Endpoint(
        "/api/latest/internal/external-db-sync/sequencer" + SYNC_BUDGET
    ),
    "external-db-sync-poller": Endpoint(
        "/api/latest/internal/external-db-sync/poller" + SYNC_BUDGET
    ),
    "failed-emails-digest": Endpoint(
        "/api/latest/internal/failed-emails-digest", method="POST", every=HOUR_S
    ),
    "prune-expired": Endpoint(
        "/api/latest/internal/prune-expired?maxDurationMs=20000", method="POST", every=HOUR_S
    ),
}

DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Outcome:
    endpoint: str
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    elapsed_ms: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        """2xx, or 404 from an API that does not implement this endpoint yet."""
        return self.status is not None and (200 <= self.status < 300 or self.status == 404)


class Log:
    """One JSON object a line on stderr, like the other services' ``STACK_LOG_FORMAT=json``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def __call__(self, level: str, event: str, **fields: Any) -> None:
        record = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "service": "cron",
            "event": event,
            **fields,
        }
        self._stream.write(json.dumps(record) + "\n")
        self._stream.flush()


def call(api_url: str, endpoint: str, secret: str, timeout: float) -> Outcome:
    """Call one endpoint with its method (a POST has an empty body). Never raises: every failure
    becomes an Outcome."""
    spec = ENDPOINTS[endpoint]
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own API
        api_url.rstrip("/") + spec.path,
        data=b"" if spec.method == "POST" else None,  # urllib sends Content-Length: 0
        headers={"Authorization": f"Bearer {secret}", "User-Agent": "authstack-cron"},
        method=spec.method,
    )
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return Outcome(endpoint, response.status, elapsed())
    except urllib.error.HTTPError as exc:
        exc.read()
        exc.close()
        return Outcome(endpoint, exc.code, elapsed())
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(endpoint, None, elapsed(), detail=str(reason))


def report(log: Log, outcome: Outcome) -> None:
    fields = {"endpoint": outcome.endpoint, "status": outcome.status, "ms": outcome.elapsed_ms}
    if outcome.status is not None and 200 <= outcome.status < 300:
        log("info", "endpoint called", **fields)
    elif outcome.status == 404:
        log("info", "endpoint not implemented by this API yet; skipped", **fields)
    elif outcome.status in (401, 403):
        log("error", "CRON_SECRET was refused; runner and API must share the same value", **fields)
    elif outcome.status is None:
        log("error", "API unreachable", reason=outcome.detail, **fields)
    else:
        log("error", "endpoint failed", **fields)


def run_once(
    api_url: str, secret: str, endpoints: Sequence[str], timeout: float, log: Log
) -> list[Outcome]:
    """Call each endpoint in turn; a failure of one never stops the next."""
    outcomes = []
    for endpoint in endpoints:
        outcome = call(api_url, endpoint, secret, timeout)
        report(log, outcome)
        outcomes.append(outcome)
    return outcomes


def run_forever(
    api_url: str,
    secret: str,
    endpoints: Sequence[str],
    *,
    interval: float,
    timeout: float,
    stop: threading.Event,
    log: Log,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """A tick every ``interval`` seconds until ``stop`` is set.

    Each tick calls the endpoints that are due: those with ``every`` 0 always, the others on the
    first tick and then once ``every`` seconds of ``clock`` have passed since their last call.
    Calls run one after another, so two calls of the same endpoint never overlap; a tick that
    would start while the previous one is still running is skipped, not queued.
    """
    log("info", "cron runner started", api_url=api_url, endpoints=list(endpoints), every=interval)
    next_tick = clock()
    last_called: dict[str, float] = {}  # endpoint -> scheduled time of the tick that called it
    while not stop.is_set():
        due = [e for e in endpoints if _due(ENDPOINTS[e].every, last_called.get(e), next_tick)]
        last_called.update(dict.fromkeys(due, next_tick))
        run_once(api_url, secret, due, timeout, log)
        next_tick += interval
        now = clock()
        if next_tick < now:  # the tick overran: skip the missed ones
            next_tick = now + interval - ((now - next_tick) % interval)
        stop.wait(next_tick - now)
    log("info", "cron runner stopped")


# Tick times are sums of floats: a tick scheduled exactly ``every`` after the last call may come
# out a hair early, and must still count as due.
_SLACK_S = 0.001


def _due(every: float, last: float | None, tick: float) -> bool:
    return last is None or tick - last >= every - _SLACK_S
