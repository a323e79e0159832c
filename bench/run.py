"""``make bench``: load the API with wrk on loopback and print figures beside floors and goals.

It asserts nothing. Everything it needs is made here and dropped afterwards: a fresh database on
the test PostgreSQL (``AUTHSTACK_BENCH_POSTGRES``, else ``AUTHSTACK_TEST_POSTGRES``, else the local
server), migrated and seeded by the real migrator; a project with keys and 200 password users with
one session each; a second project holding 100,000 users; the API (``python -m authstack_api``,
one uvicorn worker as in production, at production's default log level) and the floor
(bench/floor.py: a bare ASGI app under the same uvicorn settings and the same pool). Loads are
bounded (``BENCH_SECONDS`` per measurement, 6 s by default) and stay on 127.0.0.1.

The machine is small and shared, so comparisons are ratios of figures measured in the same run,
alternating the two sides (best of ``BENCH_ROUNDS`` rounds each, 3 by default). Beside requests/s
the bench reports each server's CPU time per request (from /proc), which other tenants' load
disturbs much less than throughput.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import Project, create_project, free_port, fresh_database

from authstack_core.logging import configure_logging
from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from baseline import baseline_api, measure_baseline
from benchdata import add_many_users, add_session_users, service_env
from knobs import (
    ACCESS_TOKENS,
    ADMIN_URL,
    API_LOG_LEVEL,
    BENCH_DIR,
    BIG_PROJECT_USERS,
    ME_PATH,
    NAMESPACE,
    POOL_SIZE,
    REDIS_URL,
    ROUNDS,
    SECONDS,
    SERVER_SECRET,
    SESSIONS,
    TOKEN_PATH,
)
from measurements import (
    Setup,
    measure_list,
    measure_me,
    measure_rate_limits,
    measure_refresh,
    measure_sign_in,
)
from procstats import MemorySampler, loadavg, machine_info, proc_memory
from wrkload import Row, Server, log, print_table, start_api, start_server, verdict

# --- the run ----------------------------------------------------------------------------------


def obtain_access_tokens(api: Server, project: Project, refresh_tokens: list[str]) -> list[str]:
    """Access tokens from the API's own refresh endpoint (also checks it answers 200)."""
    out = []
    with httpx.Client(base_url=api.url, timeout=30) as client:
        for token in refresh_tokens:
            r = client.post(
                TOKEN_PATH,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "client_id": project.id,
                    "client_secret": project.publishable_client_key,
                },
            )
            if r.status_code != 200:
                raise RuntimeError(f"refresh failed: {r.status_code} {r.text}")
            out.append(r.json()["access_token"])
        me = client.get(
            ME_PATH,
            headers={
                "x-stack-access-type": "client",
                "x-stack-project-id": project.id,
                "x-stack-publishable-client-key": project.publishable_client_key,
                "x-stack-access-token": out[0],
            },
        )
        if me.status_code != 200:
            raise RuntimeError(f"{ME_PATH} failed: {me.status_code} {me.text}")
    return out


def check_floor(floor: Server, project: Project, refresh_token: str, access_token: str) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": project.id,
        "client_secret": project.publishable_client_key,
    }
    headers = {
        "x-stack-project-id": project.id,
        "x-stack-publishable-client-key": project.publishable_client_key,
        "x-stack-access-token": access_token,
    }
    with httpx.Client(base_url=floor.url, timeout=30) as client:
        for r in (
            client.post("/refresh", data=form),
            client.post("/refresh-lookup", data=form),
            client.get("/me", headers=headers),
        ):
            if r.status_code != 200:
                raise RuntimeError(f"floor {r.request.url.path}: {r.status_code} {r.text}")


def prepare(
    database_url: str, env: dict[str, str], work: Path, *, big_users: int = BIG_PROJECT_USERS
) -> tuple[Project, Project, dict]:
    log("migrating and seeding a fresh database")
    migrate(database_url)
    seed(Settings(**env))  # type: ignore[arg-type]
    project = create_project(database_url, name="Bench")
    emails, refresh_tokens = add_session_users(database_url, project, SESSIONS)
    started = time.monotonic()
    big = create_project(database_url, name="Bench")
    if big_users:
        add_many_users(database_url, big, big_users)
        log(f"inserted {big_users:,} users in {time.monotonic() - started:.1f} s")
    files = {
        "tokens": work / "refresh_tokens.txt",
        "one_token": work / "one_refresh_token.txt",
        "emails": work / "emails.txt",
        "access": work / "access_tokens.txt",
    }
    files["tokens"].write_text("\n".join(refresh_tokens) + "\n")
    # The last session: its access token is not among those /users/me uses.
    files["one_token"].write_text(refresh_tokens[-1] + "\n")
    files["emails"].write_text("\n".join(emails) + "\n")
    return project, big, {"files": files, "refresh_tokens": refresh_tokens}


def forget_redis_keys() -> None:
    """Drop this run's keys (rate-limit counts, wake-ups nobody consumes) from the Redis."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{NAMESPACE}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        log(f"could not delete this run's Redis keys ({NAMESPACE}:*): {exc}")
    finally:
        client.close()


def run(work: Path, only: str | None, baseline: str | None = None) -> None:
    started = time.monotonic()
    print_table("Machine", ("what", "value"), machine_info())
    print(
        f"\nSettings: {SECONDS:g} s per measurement, best of {ROUNDS} alternating rounds, "
        f"wrk -t1, API and floor pool {POOL_SIZE}, API log level {API_LOG_LEVEL}\n",
        flush=True,
    )
    summary: list[Row] = []
    with fresh_database("authstack_bench", ADMIN_URL) as database_url:
        env = service_env(database_url)
        full = only is None and baseline is None
        project, big, data = prepare(
            database_url, env, work, big_users=BIG_PROJECT_USERS if full else 0
        )
        floor_port = free_port()
        api = start_api("api", env, work)
        floor = unlimited = None
        try:
            floor = start_server(
                "floor",
                [sys.executable, str(BENCH_DIR / "floor.py")],
                {**env, "FLOOR_PORT": str(floor_port), "FLOOR_PROJECT_ID": project.id},
                floor_port,
                work,
            )
            idle = proc_memory(api.pid)
            sampler = MemorySampler(api.pid)
            files = data["files"]
            access = obtain_access_tokens(api, project, data["refresh_tokens"][:ACCESS_TOKENS])
            files["access"].write_text("\n".join(access) + "\n")
            check_floor(floor, project, data["refresh_tokens"][0], access[0])
            setup = Setup(api, floor, project, big, database_url, files)
            if baseline is not None:
                with baseline_api(baseline, env, work) as then:
                    summary += measure_baseline(setup, then, baseline)
            if full or only == "hot":
                summary += measure_refresh(setup)
                summary += measure_me(setup)
            if full:
                summary += measure_sign_in(setup)
                summary += measure_list(setup)
            if only == "ratelimit" or full:
                unlimited = start_api("api-unlimited", env, work, STACK_RATE_LIMIT_ENABLED="false")
                summary += measure_rate_limits(setup, unlimited, work)
            sampler.stop()
            mem = proc_memory(api.pid)
            log(
                f"4. API memory: idle {idle['VmRSS']:.0f} MiB, after load {mem['VmRSS']:.0f} MiB, "
                f"largest sampled {sampler.max_rss:.0f} MiB, VmHWM {mem['VmHWM']:.0f} MiB"
            )
            summary.append(
                Row(
                    "API memory: RSS idle / after / peak",
                    f"{idle['VmRSS']:.0f} / {mem['VmRSS']:.0f} / {mem['VmHWM']:.0f} MiB",
                    "<= 150 MB",
                    mem["VmHWM"] * 1.048576 <= 150,
                )
            )
        finally:
            api.stop()
            for server in (floor, unlimited):
                if server is not None:
                    server.stop()
            forget_redis_keys()
    rows = [(r.name, r.value, r.goal, verdict(r.ok)) for r in summary]
    print_table("Summary", ("measurement", "value", "goal", "result"), rows)
    print(f"\nload average at the end: {loadavg()}; total time {time.monotonic() - started:.0f} s")


def bench_ready() -> bool:
    """wrk is here (else say how to get it); the bench's own log lines are set up."""
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed. Install it (Debian/Ubuntu: `apt-get install -y wrk`) "
            "and run `make bench` again.",
            file=sys.stderr,
        )
        return False
    configure_logging(
        Settings(database_url=ADMIN_URL, server_secret=SERVER_SECRET, log_level="warning"),  # type: ignore[call-arg]
        service="bench",
    )
    return True


def main() -> int:
    if not bench_ready():
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=["ratelimit", "hot"],
        help="run one part (each skips the 100,000-user project): ratelimit = the limiter's cost"
        " and users/me while one client is throttled; hot = refresh and users/me beside the floor",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="only refresh and users/me, today's API beside the API at git commit REV"
        " (served from a throwaway worktree of REV)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="authstack-bench-") as work:
        run(Path(work), args.only, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
