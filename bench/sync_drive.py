"""What the sync bench runs beside the services: a fast cron, a target listener, user updates."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql
from tests.factories import Project

from email_bench import percentile

SYNC_PATH = "/api/v1/internal/external-db-sync"
OVERRIDE_PATH = "/api/v1/internal/config/override/branch"
# A trigger of the bench's own, in the TARGET database only: the engine's commit of a users row
# wakes the listener, so the time a row became visible is read without polling.
NOTIFY_CHANNEL = "bench_sync"
NOTIFY_FUNCTION = f"""
CREATE FUNCTION bench_sync_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{NOTIFY_CHANNEL}', NEW.display_name);
    RETURN NEW;
END $$
"""
NOTIFY_TRIGGER = (
    "CREATE TRIGGER bench_sync_notify AFTER INSERT OR UPDATE ON users "
    "FOR EACH ROW WHEN (NEW.display_name IS NOT NULL) EXECUTE FUNCTION bench_sync_notify()"
)


def bench_user_id(i: int) -> str:
    """The id benchdata.add_many_users gives its user number ``i`` (1-based)."""
    return f"00000000-0000-4000-8000-{i:012x}"


def add_target(api_url: str, project: Project, target_id: str, url: str) -> None:
    """Name ``url`` as the project's external database ``target_id`` (config override API)."""
    entry = {"type": "postgres", "connectionString": url}
    body = {"config_override_string": json.dumps({f"dbSync.externalDatabases.{target_id}": entry})}
    r = httpx.patch(f"{api_url}{OVERRIDE_PATH}", headers=project.headers("admin"), json=body)
    if r.status_code != 200:
        raise RuntimeError(f"configuring the target failed: {r.status_code} {r.text}")


def count(url: str, statement: str, params: tuple[Any, ...] = ()) -> int:
    """``statement``'s single number; 0 while its table does not exist (a target before its
    first sync)."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(statement, params).fetchone()  # type: ignore[arg-type]
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def stats(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {percentile(values, 50):.0f} ms, p99 {percentile(values, 99):.0f} ms, "
        f"max {max(values):.0f} ms, mean {statistics.fmean(values):.0f} ms"
    )


@dataclass
class Calls:
    """One endpoint's calls: how long each took and the figure its answer reported."""

    ms: list[float] = field(default_factory=list)
    reported: int = 0
    failures: int = 0

    def describe(self) -> str:
        if not self.ms:
            return "no calls"
        return (
            f"{len(self.ms)} calls, mean {statistics.fmean(self.ms):.0f} ms, "
            f"longest {max(self.ms):.0f} ms, failures {self.failures}"
        )


class FastCron:
    """The cron's two calls (sequencer, poller), each in its own loop every ``period`` seconds,
    as two CronJobs run them: a call that overruns its tick skips the missed ones."""

    def __init__(self, api_url: str, secret: str, period: float, max_duration_ms: int) -> None:
        self.api_url = api_url
        self.headers = {"authorization": f"Bearer {secret}"}
        self.period = period
        self.max_duration_ms = max_duration_ms
        self.calls = {"sequencer": Calls(), "poller": Calls()}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> FastCron:
        for name, key in (("sequencer", "iterations"), ("poller", "requests_processed")):
            thread = threading.Thread(target=self._loop, args=(name, key), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def reset(self) -> None:
        self.calls = {"sequencer": Calls(), "poller": Calls()}

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self, name: str, key: str) -> None:
        url = f"{self.api_url}{SYNC_PATH}/{name}?maxDurationMs={self.max_duration_ms}"
        with httpx.Client(headers=self.headers, timeout=self.max_duration_ms / 1000 + 30) as http:
            next_tick = time.monotonic()
            while not self._stop.is_set():
                started = time.monotonic()
                calls = self.calls[name]
                try:
                    r = http.get(url)
                    if r.status_code == 200:
                        calls.reported += int(r.json().get(key, 0))
                    else:
                        calls.failures += 1
                except httpx.HTTPError:
                    calls.failures += 1
                calls.ms.append((time.monotonic() - started) * 1000)
                next_tick += self.period
                now = time.monotonic()
                if next_tick < now:
                    next_tick = now + self.period - ((now - next_tick) % self.period)
                self._stop.wait(next_tick - now)


class Listener:
    """LISTENs on the target for the bench trigger's notices: display name -> first seen."""

    def __init__(self, target_url: str) -> None:
        with psycopg.connect(target_url, autocommit=True) as conn:
            conn.execute(NOTIFY_FUNCTION)  # type: ignore[arg-type]
            conn.execute(NOTIFY_TRIGGER)
        self.seen: dict[str, float] = {}
        self._url = target_url
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(NOTIFY_CHANNEL)))
            self._ready.set()
            while not self._stop.is_set():
                for notice in conn.notifies(timeout=0.2):
                    self.seen.setdefault(notice.payload, time.time())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True, slots=True)
class Update:
    name: str
    sent: float
    answered: float
    status: int


def update_users(
    api_url: str, project: Project, users: int, rate: float, seconds: float
) -> list[Update]:
    """PATCH /users/{id} at ``rate`` per second for ``seconds``, each a distinct user and a
    unique display name carrying its send time."""
    total = max(1, round(rate * seconds))
    picked = random.sample(range(1, users + 1), min(total, users))
    start = time.time() + 0.2
    with httpx.Client(base_url=api_url, headers=project.headers("server"), timeout=30) as http:

        def one(n: int) -> Update:
            time.sleep(max(0.0, start + n / rate - time.time()))
            sent = time.time()
            name = f"lag {n} {sent:.3f}"
            r = http.patch(f"/api/v1/users/{bench_user_id(picked[n])}", json={"display_name": name})
            return Update(name, sent, time.time(), r.status_code)

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(len(picked))))


def refresh_sessions(
    api_url: str, project: Project, tokens: list[str], first_client: int, rate: float | None
) -> tuple[int, float]:
    """One refresh per token, 8 at a time, at ``rate`` per second (None: as fast as the API
    answers), each session from an address of its own (X-Forwarded-For, as bench/lua does: the
    bench's API trusts loopback as its proxy): (2xx answers, seconds)."""
    form = {"grant_type": "refresh_token", "client_id": project.id}
    form["client_secret"] = project.publishable_client_key
    start = time.time() + 0.1
    with httpx.Client(base_url=api_url, timeout=30) as http:

        def one(n: int) -> bool:
            if rate:
                time.sleep(max(0.0, start + n / rate - time.time()))
            client = first_client + n
            r = http.post(
                "/api/v1/auth/oauth/token",
                data={**form, "refresh_token": tokens[n]},
                headers={"x-forwarded-for": f"10.77.{client // 250}.{client % 250 + 1}"},
            )
            return r.status_code == 200

        with ThreadPoolExecutor(8) as pool:
            ok = sum(pool.map(one, range(len(tokens))))
    return ok, time.time() - start


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.1) -> float | None:
    """Seconds until ``check()`` held, or None if it did not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(every)
    return None
