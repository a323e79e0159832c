"""The API's memory under a long load: RSS sampled as requests add up (issue 19: <= 150 MB
after 1 M requests, no growth).

It asserts nothing. One API process as production runs it (``python -m authstack_api``), on a
fresh database with 200 sessions, is loaded by wrk in chunks of ``BENCH_MEMORY_CHUNK_SECONDS``
(15) at 16 connections, in turn: token refreshes, ``/users/me``, and refreshes with unknown
tokens (the known-error path), until ``BENCH_MEMORY_REQUESTS`` (1,000,000) requests were sent or
``BENCH_MEMORY_SECONDS`` (1,500) have passed, whichever comes first. After each chunk it prints
the request count, the process's RSS and its peak, so growth shows as it happens.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import fresh_database

from benchdata import service_env
from knobs import ACCESS_TOKENS, ADMIN_URL, ME_PATH, TOKEN_PATH
from procstats import loadavg, proc_memory
from run import bench_ready, obtain_access_tokens, prepare
from wrkload import Row, log, print_table, start_api, verdict, wrk

REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "1000000"))
TIME_CAP = float(os.environ.get("BENCH_MEMORY_SECONDS", "1500"))
CHUNK = float(os.environ.get("BENCH_MEMORY_CHUNK_SECONDS", "15"))
CONNECTIONS = 16
GOAL_MB = 150.0


def mb(mib: float) -> float:
    return mib * 1.048576


def run(work: Path) -> None:
    started = time.monotonic()
    print(
        f"Memory: up to {REQUESTS:,} requests or {TIME_CAP:g} s, chunks of {CHUNK:g} s, "
        f"wrk -t1 -c{CONNECTIONS}; load average {loadavg()}\n",
        flush=True,
    )
    with fresh_database("authstack_bench", ADMIN_URL) as database_url:
        env = service_env(database_url)
        project, _, data = prepare(database_url, env, work, big_users=0)
        api = start_api("api", env, work)
        try:
            idle = proc_memory(api.pid)["VmRSS"]
            files = data["files"]
            access = obtain_access_tokens(api, project, data["refresh_tokens"][:ACCESS_TOKENS])
            files["access"].write_text("\n".join(access) + "\n")
            unknown = work / "unknown_tokens.txt"
            unknown.write_text("\n".join(secrets.token_urlsafe(32) for _ in range(200)) + "\n")
            keys = {
                "BENCH_PROJECT_ID": project.id,
                "BENCH_CLIENT_KEY": project.publishable_client_key,
            }
            loads = [
                ("refresh", "refresh.lua", {"BENCH_FILE": str(files["tokens"])}, TOKEN_PATH),
                ("users/me", "me.lua", {"BENCH_FILE": str(files["access"])}, ME_PATH),
                ("unknown refresh", "refresh.lua", {"BENCH_FILE": str(unknown)}, TOKEN_PATH),
            ]
            total = 0
            samples: list[tuple[int, float]] = []
            chunk_no = 0
            log(f"API idle: RSS {idle:.1f} MiB")
            while total < REQUESTS and time.monotonic() - started < TIME_CAP:
                name, script, extra, path = loads[chunk_no % len(loads)]
                chunk_no += 1
                if name == "users/me":  # fresh access tokens: a long run outlives their expiry
                    tokens = data["refresh_tokens"][:ACCESS_TOKENS]
                    access = obtain_access_tokens(api, project, tokens)
                    files["access"].write_text("\n".join(access) + "\n")
                env_ = {**keys, **extra, "BENCH_PATH": path}
                r = wrk(api, script, env_, connections=CONNECTIONS, seconds=CHUNK)
                total += r.requests
                mem = proc_memory(api.pid)
                samples.append((total, mem["VmRSS"]))
                log(
                    f"  {total:>9,} requests  RSS {mem['VmRSS']:6.1f} MiB  peak "
                    f"{mem['VmHWM']:6.1f} MiB  ({name}: {r.rps:.0f} req/s, "
                    f"{r.non_2xx} non-2xx)"
                )
            final = proc_memory(api.pid)
        finally:
            api.stop()
    # Growth: the last third's RSS against the first third's, past the warm-up.
    third = max(1, len(samples) // 3)
    early = max(rss for _, rss in samples[:third])
    late = max(rss for _, rss in samples[-third:])
    rows = [
        Row("requests sent", f"{total:,} in {time.monotonic() - started:.0f} s"),
        Row("API RSS idle", f"{idle:.1f} MiB ({mb(idle):.1f} MB)"),
        Row(
            f"API RSS after {total:,} requests",
            f"{final['VmRSS']:.1f} MiB ({mb(final['VmRSS']):.1f} MB), "
            f"peak {final['VmHWM']:.1f} MiB",
            f"<= {GOAL_MB:g} MB",
            mb(final["VmHWM"]) <= GOAL_MB,
        ),
        Row(
            "RSS growth, first third -> last third",
            f"{early:.1f} -> {late:.1f} MiB ({late - early:+.1f})",
        ),
    ]
    print_table(
        "Summary", ("measurement", "value", "goal", "result"),
        [(r.name, r.value, r.goal, verdict(r.ok)) for r in rows],
    )  # fmt: skip


def main() -> int:
    if not bench_ready():
        return 2
    with tempfile.TemporaryDirectory(prefix="authstack-memory-") as work:
        run(Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
