"""Events into ``analytics_internal.events``, batched off the request path.

``EventWriter.record`` only appends to a bounded in-memory buffer; one background thread inserts
what has gathered every ``interval`` seconds (or sooner when a batch is full). A request that
caused an event never waits for ClickHouse and never fails because of it: when the store is down
the buffer keeps the newest events up to its bound and drops the oldest beyond it, counting them
(``stats``); inserts are retried with a growing pause.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from authstack_core.analytics.store import Store, StoreUnavailableError

log = structlog.get_logger(__name__)

COLUMNS = (
    "event_type", "event_at", "data", "project_id", "branch_id", "user_id", "team_id",
    "refresh_token_id", "session_replay_id", "session_replay_segment_id",
)  # fmt: skip
MAX_BUFFERED = 100_000
BATCH = 10_000
INTERVAL_S = 0.5
MAX_RETRY_PAUSE_S = 30.0


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the current request came from (set by the API's edge, read by event writers)."""

    ip: str | None
    country_code: str | None = None

    def ip_info(self) -> dict[str, Any] | None:
        if self.ip is None:
            return None
        # The address is the TCP peer or what a trusted proxy reported (never a client's claim).
        return {
            "ip": self.ip,
            "is_trusted": True,
            "country_code": self.country_code,
            "region_code": None,
            "city_name": None,
            "latitude": None,
            "longitude": None,
            "tz_identifier": None,
        }


request_origin: ContextVar[Origin | None] = ContextVar("request_origin", default=None)


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str
    project_id: str
    branch_id: str
    data: dict[str, Any]
    event_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    user_id: str | None = None
    team_id: str | None = None
    refresh_token_id: str | None = None
    session_replay_id: str | None = None
    session_replay_segment_id: str | None = None

    def row(self) -> list[Any]:
        return [
            self.event_type, self.event_at, self.data, self.project_id, self.branch_id,
            self.user_id, self.team_id, self.refresh_token_id, self.session_replay_id,
            self.session_replay_segment_id,
        ]  # fmt: skip


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    dropped: int = 0  # lost to a full buffer or a disabled store
    rejected: int = 0  # refused by the engine (a value it cannot store)
    failed_inserts: int = 0


class _NotWritten(Exception):  # noqa: N818 - internal: carries what is left to write
    def __init__(self, left: list[Event], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.left = left
        self.cause = cause


# The store answered with an error about the data (not: unreachable, busy, not migrated).
_NOT_ABOUT_DATA = ("Code: 60.", "Code: 81.", "Code: 497.", "Code: 516.", "Code: 192.")


def _refused_by_engine(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailableError):
        return False
    text = str(exc)
    return "Code: " in text and not any(code in text for code in _NOT_ABOUT_DATA)


class EventWriter:
    def __init__(
        self,
        store: Store,
        *,
        max_buffered: int = MAX_BUFFERED,
        batch: int = BATCH,
        interval: float = INTERVAL_S,
    ) -> None:
        self._store = store
        self._max = max_buffered
        self._batch = batch
        self._interval = interval
        self._buffer: deque[Event] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._in_flight = 0
        self.stats = WriterStats()
        self.enabled = store.kind != "disabled"

    def record(self, event: Event) -> None:
        """Queue one event; never blocks on ClickHouse, never raises."""
        if not self.enabled:
            self.stats.dropped += 1
            return
        with self._wake:
            if len(self._buffer) >= self._max:
                self._buffer.popleft()
                self.stats.dropped += 1
            self._buffer.append(event)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="analytics-writer", daemon=True
                )
                self._thread.start()
            if len(self._buffer) >= self._batch:
                self._wake.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far is written (or ``timeout``); True when done."""
        deadline = time.monotonic() + timeout
        with self._wake:
            self._wake.notify()
            while self._buffer or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))
                self._wake.notify()
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is buffered (for at most ``timeout``), then stop the thread."""
        self.flush(timeout)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = self._interval
        while True:
            with self._wake:
                # Gather for one interval unless a batch is full; after a failure, back off.
                if not self._closing and (
                    pause > self._interval or len(self._buffer) < self._batch
                ):
                    self._wake.wait(pause)
                if self._closing:
                    return
                if not self._buffer:
                    continue
                batch = [self._buffer.popleft() for _ in range(min(self._batch, len(self._buffer)))]
                self._in_flight = len(batch)
            try:
                self._write(batch)
            except _NotWritten as failure:  # the store failed: keep what is left, retry later
                exc = failure.cause
                self._requeue(failure.left)
                self.stats.failed_inserts += 1
                pause = min(max(pause * 2, 1.0), MAX_RETRY_PAUSE_S)
                log.warning(
                    "analytics events not written yet; will retry",
                    buffered=len(self._buffer),
                    reason=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
                )
            else:
                self.stats.written += len(batch)
                pause = self._interval
            finally:
                with self._wake:
                    self._in_flight = 0
                    self._wake.notify_all()

    def _write(self, batch: list[Event]) -> None:
        """Insert ``batch``. Events the engine refuses (a value it cannot store) are found by
        halving and dropped, counted, so that one bad event cannot hold back the rest; when the
        store itself fails, raise _NotWritten with what is still to write."""
        try:
            self._insert(batch)
        except Exception as exc:
            if not _refused_by_engine(exc):
                raise _NotWritten(batch, exc) from exc
            if len(batch) == 1:
                self.stats.rejected += 1
                log.warning(
                    "analytics event refused by ClickHouse; dropped",
                    event_type=batch[0].event_type,
                    reason=str(exc).splitlines()[0][:200],
                )
                return
            half = len(batch) // 2
            try:
                self._write(batch[:half])
            except _NotWritten as failure:
                raise _NotWritten([*failure.left, *batch[half:]], failure.cause) from exc
            self._write(batch[half:])

    def _insert(self, batch: list[Event]) -> None:
        rows = [event.row() for event in batch]
        settings = {"async_insert": 1, "wait_for_async_insert": 1}
        with self._store.session() as client:
            client.insert(
                "analytics_internal.events",
                rows,
                column_names=COLUMNS,
                settings=settings if self._store.kind == "server" else None,
            )

    def _requeue(self, batch: list[Event]) -> None:
        with self._wake:
            room = self._max - len(self._buffer)
            keep = batch[-room:] if room > 0 else []
            self.stats.dropped += len(batch) - len(keep)
            self._buffer.extendleft(reversed(keep))
