"""What the project cache tests read of a running API: its cache figures (from ``/metrics``, which
answers loopback without a token outside production) and its listener's backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from authstack_core.db.project_listener import application_name
from tests.conftest import ApiServer

# Long enough that no entry expires by age during a test: only notices, flushes and key expiry
# may end one.
CACHE_ENV = {"STACK_PROJECT_CACHE_TTL_SECONDS": "300", "STACK_RATE_LIMIT_ENABLED": "false"}


@dataclass(frozen=True)
class CacheFigures:
    hits: float
    misses: float
    bypassed: float
    invalidations: float
    flushes: float
    entries: float
    listening: bool


def figures(server: ApiServer) -> CacheFigures:
    r = httpx.get(f"{server.url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name.startswith("authstack_project_cache_"):
                found[(s.name, next(iter(s.labels.values()), ""))] = s.value
    lookups = "authstack_project_cache_lookups_total"
    dropped = "authstack_project_cache_invalidations_total"
    return CacheFigures(
        hits=found[(lookups, "hit")],
        misses=found[(lookups, "miss")],
        bypassed=found[(lookups, "bypass")],
        invalidations=found[(dropped, "project")],
        flushes=found[(dropped, "flush")],
        entries=found[("authstack_project_cache_entries", "")],
        listening=found[("authstack_project_cache_listener_connected", "")] == 1,
    )


def listener_backends(server: ApiServer) -> list[int]:
    """The PostgreSQL backend pids of ``server``'s LISTEN connection (one while it listens)."""
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (application_name(server.process.pid),),
        ).fetchall()
    return [pid for (pid,) in rows]


def wait_listening(server: ApiServer, timeout: float = 10) -> None:
    assert within(timeout, lambda: figures(server).listening) is not None, "listener not up"


def within(timeout: float, check: Callable[[], object], interval: float = 0.01) -> float | None:
    """Seconds until ``check()`` was first truthy, polling; None if not within ``timeout``."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            return None
        time.sleep(interval)
