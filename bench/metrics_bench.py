"""The cost of the Prometheus series per request: refresh and /users/me with metrics on and off.

First the hook alone (``authstack_api.prometheus.observe``, what the edge middleware adds to each
request), timed in a process of its own, in memory and in multiprocess mode: a few microseconds,
less than a loaded 2-core machine resolves end to end. Then three APIs on one fresh database,
loaded alternately (best of ``BENCH_ROUNDS``): the API as it ships (series in the process's
memory), the same with ``PROMETHEUS_MULTIPROC_DIR`` (each value a write to a memory-mapped file,
as several processes on one port need), and the API with the per-request hook switched off
(bench/metrics_off.py). Prints req/s, CPU per request and the differences; asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import free_port, fresh_database

from benchdata import service_env
from knobs import ADMIN_URL, ME_PATH, ROUNDS, SECONDS, TOKEN_PATH
from measurements import Setup
from run import bench_ready, forget_redis_keys, obtain_access_tokens, prepare
from wrkload import Row, Server, Target, compare, log, print_table, ratio, start_api, start_server

ON, MULTI, OFF = "metrics on", "metrics on, multiprocess", "metrics off"

# The hook as the middleware calls it, minus the same call to a function doing nothing; best of 5.
HOOK_TIMING = """
import time, timeit
from authstack_api.prometheus import observe
scope = {"type": "http", "method": "POST", "path_template": "/api/v1/auth/oauth/token"}
def nothing(scope, status, started): pass
n = 200_000
hook = min(timeit.repeat(lambda: observe(scope, 200, time.perf_counter()), number=n, repeat=5))
bare = min(timeit.repeat(lambda: nothing(scope, 200, time.perf_counter()), number=n, repeat=5))
print((hook - bare) / n * 1e6)
"""


def hook_cost_us(env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", HOOK_TIMING],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def measure_hook(work: Path) -> list[Row]:
    log("the per-request hook alone, 200,000 calls, best of 5")
    memory = hook_cost_us({})
    files = hook_cost_us({"PROMETHEUS_MULTIPROC_DIR": str(work / "hook-prometheus")})
    return [
        Row("per-request hook, in memory", f"{memory:.1f} us"),
        Row("per-request hook, multiprocess files", f"{files:.1f} us"),
    ]


def start_without_metrics(env: dict[str, str], work: Path) -> Server:
    port = free_port()
    return start_server(
        "api-metrics-off",
        [sys.executable, str(Path(__file__).with_name("metrics_off.py"))],
        {**env, "STACK_API_PORT": str(port), "STACK_API_HOST": "127.0.0.1"},
        port,
        work,
    )


def measure(setup: Setup, servers: dict[str, Server]) -> list[Row]:
    loads = (
        (
            "refresh",
            "refresh.lua",
            {"BENCH_FILE": str(setup.files["tokens"]), "BENCH_PATH": TOKEN_PATH},
        ),
        ("users/me", "me.lua", {"BENCH_FILE": str(setup.files["access"]), "BENCH_PATH": ME_PATH}),
    )
    rows: list[Row] = []
    for name, script, extra in loads:
        log(f"{name}: {', '.join(servers)}")
        env = {**setup.keys(), **extra}
        r = compare([Target(side, server, script, env) for side, server in servers.items()])
        off = r[OFF]
        for side in (ON, MULTI):
            got = r[side]
            rows += [
                Row(
                    f"{name} req/s: {side} / off",
                    f"{got.good_rps:.0f} / {off.good_rps:.0f} "
                    f"({ratio(got.good_rps, off.good_rps):.1%})",
                ),
                Row(
                    f"{name} CPU/req: {side} / off",
                    f"{got.cpu_us:.0f} / {off.cpu_us:.0f} us ({got.cpu_us - off.cpu_us:+.0f} us)",
                ),
            ]
    return rows


def main() -> int:
    if not bench_ready():
        return 2
    started = time.monotonic()
    print(f"\nmetrics on vs off: {SECONDS:g} s per measurement, best of {ROUNDS} alternating\n")
    with (
        tempfile.TemporaryDirectory(prefix="authstack-metrics-bench-") as folder,
        fresh_database("authstack_bench", ADMIN_URL) as database_url,
    ):
        work = Path(folder)
        env = service_env(database_url)
        project, big, data = prepare(database_url, env, work, big_users=0)
        servers: dict[str, Server] = {}
        try:
            servers[ON] = start_api("api-metrics-on", env, work)
            servers[MULTI] = start_api(
                "api-metrics-multiprocess",
                env,
                work,
                PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
            )
            servers[OFF] = start_without_metrics(env, work)
            files = data["files"]
            access = obtain_access_tokens(servers[ON], project, data["refresh_tokens"][:50])
            files["access"].write_text("\n".join(access) + "\n")
            setup = Setup(servers[ON], servers[OFF], project, big, database_url, files)
            rows = measure_hook(work) + measure(setup, servers)
        finally:
            for server in servers.values():
                server.stop()
            forget_redis_keys()
    print_table("Metrics overhead", ("measurement", "value"), [(r.name, r.value) for r in rows])
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
