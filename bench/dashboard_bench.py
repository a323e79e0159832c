"""Dashboard users page speed with 10,000 users: first page, a search, a user's detail.

Standalone (``uv run python bench/dashboard_bench.py``): makes a fresh database on the PostgreSQL
at ``AUTHSTACK_TEST_POSTGRES`` (default the local server), runs the real migrator and seed, starts
the real API and dashboard on loopback ports, creates a project through the admin API, inserts the
users with SQL (set-up only; the dashboard itself never touches the database), signs the seeded
admin in through the dashboard's form, then times sequential page loads end to end (dashboard ->
API -> PostgreSQL) and prints p50 / p95 / p99 / max. It asserts nothing and drops its database.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import (
    INTERNAL_TEAM_ID,
    free_port,
    fresh_database,
    stop_process,
    wait_healthy,
)

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = secrets.token_urlsafe(16)
PCK = "pck_" + secrets.token_hex(20)


@contextmanager
def service(module: str, env: dict[str, str], health: str) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env})
    try:
        wait_healthy(process, health, module)
        yield
    finally:
        stop_process(process)


def insert_users(database_url: str, project_id: str, count: int) -> list[str]:
    """``count`` users with a primary email each, signed up over the last ``count`` minutes."""
    start = datetime.now(UTC) - timedelta(minutes=count)
    ids = [uuid.uuid4() for _ in range(count)]
    with psycopg.connect(database_url) as conn, conn.transaction():
        row = conn.execute(
            "SELECT id FROM tenancies WHERE project_id = %s AND branch_id = 'main'", (project_id,)
        ).fetchone()
        assert row is not None
        tenancy = row[0]
        with conn.cursor() as cur:
            with cur.copy(
                "COPY users (tenancy_id, id, display_name, signed_up_at, last_active_at) FROM STDIN"
            ) as copy:
                for i, user_id in enumerate(ids):
                    at = start + timedelta(minutes=i)
                    copy.write_row((tenancy, user_id, f"Bench User {i:05d}", at, at))
            with cur.copy(
                "COPY contact_channels (tenancy_id, id, user_id, type, value, is_primary, "
                "is_verified, used_for_auth) FROM STDIN"
            ) as copy:
                for i, user_id in enumerate(ids):
                    email = f"user-{i:05d}@bench.example.com"
                    copy.write_row(
                        (tenancy, uuid.uuid4(), user_id, "email", email, True, True, True)
                    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return [str(i) for i in ids]


def sign_in(dashboard: httpx.Client) -> None:
    page = dashboard.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match, "no CSRF token on the sign-in page"
    r = dashboard.post(
        "/sign-in",
        data={
            "csrf_token": match.group(1),
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "next": "/projects",
        },
    )
    assert r.status_code == 303, r.text
    assert "authstack_session" in dashboard.cookies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(client: httpx.Client, url: str, runs: int, marker: str) -> list[float]:
    for _ in range(5):  # warm-up: connections, caches
        client.get(url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        assert marker in r.text, (url, "page lacks", marker)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    api_port, dash_port = free_port(), free_port()
    api_url, dash_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dash_port}"
    with fresh_database("authstack_bench") as database_url:
        env = {
            "STACK_DATABASE_CONNECTION_STRING": database_url,
            "STACK_SERVER_SECRET": secrets.token_urlsafe(32),
            "NEXT_PUBLIC_STACK_API_URL": api_url,
            "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": PCK,
            "STACK_SEED_INTERNAL_PROJECT_USER_EMAIL": ADMIN_EMAIL,
            "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD": ADMIN_PASSWORD,
            "STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS": "true",
            "STACK_LOG_LEVEL": "warning",
            # Not the checkout's .dev/clickhouse, which `make dev` may hold: the Overview's
            # activity then comes from sessions, as without ClickHouse.
            "STACK_CLICKHOUSE_URL": "disabled",
            "STACK_API_PORT": str(api_port),
            "STACK_DASHBOARD_PORT": str(dash_port),
            "STACK_DASHBOARD_API_URL": api_url,
            "STACK_DASHBOARD_SESSION_SECRET": secrets.token_urlsafe(32),
        }
        migrate(database_url)
        seed(Settings(**env))  # type: ignore[arg-type]
        with (
            service("authstack_api", env, f"{api_url}/health"),
            service("authstack_dashboard", env, f"{dash_url}/health"),
            httpx.Client(base_url=dash_url, timeout=30) as dashboard,
        ):
            sign_in(dashboard)
            page = dashboard.get("/projects")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
            assert token
            r = dashboard.post(
                "/projects/create",
                data={
                    "csrf_token": token.group(1),
                    "display_name": "Bench",
                    "owner_team_id": INTERNAL_TEAM_ID,
                },
            )
            assert r.status_code == 303, r.text
            project_id = r.headers["location"].split("/")[2]
            print(f"inserting {args.users} users into project {project_id} ...", flush=True)
            ids = insert_users(database_url, project_id, args.users)
            middle = args.users // 2
            cases = [
                ("users, first page", f"/projects/{project_id}/users", "Bench User"),
                (
                    "users, search",
                    f"/projects/{project_id}/users?q=user-{middle:05d}",
                    f"user-{middle:05d}@bench.example.com",
                ),
                ("user detail", f"/projects/{project_id}/users/{ids[middle]}", ids[middle]),
            ]
            print(f"\n{args.runs} sequential requests each, {args.users} users, times in ms\n")
            print(f"{'page':<20}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
            for label, url, marker in cases:
                times = measure(dashboard, url, args.runs, marker)
                print(
                    f"{label:<20}{statistics.median(times):8.1f}{percentile(times, 95):8.1f}"
                    f"{percentile(times, 99):8.1f}{max(times):8.1f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
