"""Webhook benchmark: what one worker process delivers, and how long an event takes to arrive.

    uv run python bench/webhook_bench.py [--events 2000] [--latency-samples 200]

Everything is real and on loopback: a fresh PostgreSQL database, a redis-server of its own, the
API and one worker process (built-in mode) and scripts/webhook_receiver.py's receiver (verifying
every signature with the svix package) in this process. Prints figures; asserts nothing.

1. Throughput: N events are recorded while no worker runs (users inserted with their
   ``user.created`` events in one transaction, as the API writes them); then one worker starts
   and gets one wake-up, and the rate is N over the time from the first to the last receipt.
   Once to a single endpoint (one lane: each message waits for the previous one's answer) and
   once spread over several endpoints (lanes run side by side).
2. Latency: one ``POST /users`` per call at a steady pace, idle worker waiting; the time from the
   API's answer (the change committed) to the receiver having the event, p50 / p99.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.email_bench import (
    SECRET,
    _cpu_model,
    _http_ok,
    percentile,
    process,
    service_env,
    start_database_and_redis,
    wait,
)
from tests.factories import create_project, free_port, fresh_database
from tests.webhooks.support import Receiver

from authstack_core.jobs import DELIVER_WEBHOOKS, JobQueue
from authstack_core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def record_events(url: str, tenancy_id: str, project_id: str, count: int) -> None:
    """``count`` users and their user.created events, committed together (no wake-up sent)."""
    users = [uuid.uuid4() for _ in range(count)]
    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (tenancy_id, id) VALUES (%s, %s)", [(tenancy_id, u) for u in users]
        )
        cur.executemany(
            "INSERT INTO webhook_events (event_id, tenancy_id, project_id, event_type, payload)"
            " VALUES (%s, %s, %s, 'user.created', %s)",
            [
                (uuid.uuid4(), tenancy_id, project_id,
                 Jsonb({"type": "user.created", "data": {"id": str(u), "bench": True}}))
                for u in users
            ],
        )  # fmt: skip


def wake(env: dict[str, str], tenancy_id: str) -> None:
    """One wake-up for the project, as the API sends after a commit."""
    settings = Settings(  # type: ignore[call-arg]
        STACK_DATABASE_CONNECTION_STRING=env["STACK_DATABASE_CONNECTION_STRING"],
        STACK_SERVER_SECRET=SECRET,
        STACK_REDIS_URL=env["STACK_REDIS_URL"],
        STACK_QUEUE_NAMESPACE=env["STACK_QUEUE_NAMESPACE"],
    )
    jobs = JobQueue.from_settings(settings)
    try:
        jobs.send_now(DELIVER_WEBHOOKS, tenancy_id)
    finally:
        jobs.close()


def add_endpoints(api_url: str, project: Any, receiver: Any, count: int) -> None:
    for n in range(count):
        path = f"/bench{n}"
        r = httpx.post(
            f"{api_url}/api/v1/internal/webhooks/endpoints",
            headers=project.headers("admin"),
            json={"url": receiver.url(path)},
            timeout=30,
        )
        r.raise_for_status()
        receiver.secret(path, r.json()["secret"])


def throughput(
    env: dict[str, str], db: str, api_url: str, receiver: Any, events: int, endpoints: int
) -> tuple[int, float, bool]:
    """(deliveries, per second, all verified) for ``events`` events to ``endpoints`` endpoints."""
    project = create_project(db, name="Bench")
    add_endpoints(api_url, project, receiver, endpoints)
    receiver.clear()
    record_events(db, project.tenancy_id, project.id, events)
    expected = events * endpoints
    with process([sys.executable, "-m", "authstack_worker"], env):
        wake(env, project.tenancy_id)
        wait(lambda: len(receiver.received()) >= expected, 900, "the deliveries")
    got = receiver.received()
    times = sorted(r.received_at for r in got)
    span = times[-1] - times[0]
    rate = (len(got) - 1) / span if span > 0 else float("inf")
    return len(got), rate, all(r.verified for r in got)


def latency(api_url: str, db: str, receiver: Any, samples: int, rate: float) -> list[float]:
    project = create_project(db, name="Latency")
    add_endpoints(api_url, project, receiver, 1)
    receiver.clear()
    committed: dict[str, float] = {}
    interval = 1.0 / rate
    with httpx.Client(base_url=api_url, headers=project.headers("server"), timeout=30) as http:
        for _ in range(samples):
            t0 = time.time()
            r = http.post("/api/v1/users", json={})
            r.raise_for_status()
            committed[r.json()["id"]] = time.time()  # the answer comes after the commit
            time.sleep(max(0.0, interval - (time.time() - t0)))
    wait(lambda: len(receiver.received()) >= samples, 120, "the latency samples")
    return [
        (r.received_at - committed[json.loads(r.body)["data"]["id"]]) * 1000
        for r in receiver.received()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=4, help="for the spread-out run")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="API calls per second (latency)")
    parser.add_argument("--threads", type=int, default=8, help="STACK_WORKER_THREADS")
    args = parser.parse_args()

    api_port, redis_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    receiver = Receiver().start()
    with contextlib.ExitStack() as stack:
        stack.callback(receiver.stop)
        db = stack.enter_context(fresh_database("authstack_bench_webhooks"))
        # The receiver is on 127.0.0.1: a private target.
        env = service_env(
            db, redis_port, api_port, args.threads, STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS="true"
        )
        start_database_and_redis(stack, db, redis_port)
        stack.enter_context(process([sys.executable, "-m", "authstack_api"], env))
        wait(lambda: _http_ok(f"{api_url}/health"), 30, "the API")

        one = throughput(env, db, api_url, receiver, args.events, 1)
        per = max(1, args.events // args.endpoints)
        spread = throughput(env, db, api_url, receiver, per, args.endpoints)
        stack.enter_context(process([sys.executable, "-m", "authstack_worker"], env))
        time.sleep(2)  # the worker's start-up is not part of the latency
        latencies = latency(api_url, db, receiver, args.latency_samples, args.rate)

    cpu = _cpu_model()
    print(f"webhook benchmark — {platform.node()}, {os.cpu_count()} cores ({cpu}), loopback")
    print(
        f"  worker: 1 process, {args.threads} threads; receiver: scripts/webhook_receiver.py"
        " (every signature verified with svix)"
    )
    for label, (count, rate, verified) in (
        ("1 endpoint (one lane, in order)", one),
        (f"{args.endpoints} endpoints (lanes side by side)", spread),
    ):
        print(
            f"  throughput, {label}: {count} deliveries at {rate:.0f}/s (goal >= 300/s);"
            f" all verified: {verified}"
        )
    print(
        f"  latency, commit -> receipt ({len(latencies)} POST /users at {args.rate:.0f}/s): "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
