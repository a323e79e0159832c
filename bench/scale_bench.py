"""Two API processes behind one port against one, and p99 at 32 connections (issue 19).

It asserts nothing. On a fresh database (as bench/run.py makes it, without the 100,000-user
project) it starts the API as production runs it (``python -m authstack_api``: one process), the
API as two processes behind one port (bench/replicas.py, SO_REUSEPORT; with
``PROMETHEUS_MULTIPROC_DIR``, as several processes need, and half the pool each), and the floor
(bench/floor.py) both ways, then loads them with wrk at 32 connections, alternating, best of
``BENCH_ROUNDS``.

The machine has 2 cores, and PostgreSQL, Redis and wrk need CPU too: a second process cannot
double anything here. The floor served the same two ways shows how far this machine lets any
server scale; the machine's idle share during each load and each worker's share of the CPU
are printed beside the figures, so a low ratio can be told from a saturated machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import free_port, fresh_database

from benchdata import service_env
from knobs import (
    ACCESS_TOKENS,
    ADMIN_URL,
    BENCH_DIR,
    ME_PATH,
    POOL_SIZE,
    ROUNDS,
    SECONDS,
    TOKEN_PATH,
)
from procstats import cpu_split, loadavg, machine_info
from run import bench_ready, obtain_access_tokens, prepare
from wrkload import (
    START_TIMEOUT,
    Row,
    Server,
    Target,
    WrkResult,
    compare,
    log,
    print_table,
    ratio,
    start_api,
    start_server,
    verdict,
    wrk,
)

CONNECTIONS = 32
P99_GOAL_MS = 20.0
SCALE_GOAL = 1.7


def start_replicas(name: str, app: str, env: dict[str, str], work: Path) -> Server:
    port = free_port()
    # Each worker gets half the pool: the same PostgreSQL connections as one process has (and
    # the server's 100 connections are shared with everything else on this machine).
    half = str(POOL_SIZE // 2)
    extra = {
        "REPLICA_APP": app,
        "REPLICA_WORKERS": "2",
        "REPLICA_PORT": str(port),
        "STACK_DB_POOL_MIN_SIZE": half,
        "STACK_DB_POOL_MAX_SIZE": half,
    }
    if app == "api":
        folder = work / f"prometheus-{name.replace(' ', '-')}"
        folder.mkdir()
        extra["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    if app == "floor":
        extra["FLOOR_PORT"] = str(port)
    ready = work / f"ready-{name.replace(' ', '-')}"
    ready.mkdir()
    extra["REPLICA_READY_DIR"] = str(ready)
    argv = [sys.executable, str(BENCH_DIR / "replicas.py")]
    server = start_server(name, argv, {**env, **extra}, port, work)
    # /health answered means one worker listens; wait for the other before loading them.
    deadline = time.monotonic() + START_TIMEOUT
    while len(list(ready.iterdir())) < 2:
        if time.monotonic() > deadline or server.process.poll() is not None:
            server.stop()
            raise RuntimeError(f"{name}: not every worker started; see {server.log_path}")
        time.sleep(0.1)
    return server


def machine_busy() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def idle_and_split(server: Server, script: str, env: dict[str, str]) -> str:
    """One more load on ``server``: the machine's idle share and each worker's CPU share."""
    idle0, total0 = machine_busy()
    split0 = cpu_split(server.pid)
    result = wrk(server, script, env, connections=CONNECTIONS, seconds=SECONDS)
    idle1, total1 = machine_busy()
    split1 = cpu_split(server.pid)
    shares = [b - a for a, b in zip(split0, split1, strict=False)]
    workers = " / ".join(f"{ratio(s, sum(shares)):.0%}" for s in shares) if sum(shares) else "-"
    idle = ratio(idle1 - idle0, total1 - total0)
    log(f"  {server.name:<12} {result.describe()}  machine idle {idle:.0%}  workers {workers}")
    return f"idle {idle:.0%}, CPU split {workers}"


def run(work: Path) -> None:
    print_table("Machine", ("what", "value"), machine_info())
    print(f"\nSettings: {SECONDS:g} s per measurement, best of {ROUNDS}, wrk -t1 -c{CONNECTIONS}\n")
    rows: list[Row] = []
    with fresh_database("authstack_bench", ADMIN_URL) as database_url:
        env = service_env(database_url)
        project, _, data = prepare(database_url, env, work, big_users=0)
        floor_env = {**env, "FLOOR_PROJECT_ID": project.id}
        servers: list[Server] = []
        try:
            api1 = start_api("api x1", env, work)
            servers.append(api1)
            api2 = start_replicas("api x2", "api", env, work)
            servers.append(api2)
            floor_port = free_port()
            floor1 = start_server(
                "floor x1",
                [sys.executable, str(BENCH_DIR / "floor.py")],
                {**floor_env, "FLOOR_PORT": str(floor_port)},
                floor_port,
                work,
            )
            servers.append(floor1)
            floor2 = start_replicas("floor x2", "floor", floor_env, work)
            servers.append(floor2)
            files = data["files"]
            access = obtain_access_tokens(api1, project, data["refresh_tokens"][:ACCESS_TOKENS])
            files["access"].write_text("\n".join(access) + "\n")
            keys = {
                "BENCH_PROJECT_ID": project.id,
                "BENCH_CLIENT_KEY": project.publishable_client_key,
            }
            refresh = {**keys, "BENCH_FILE": str(files["tokens"]), "BENCH_PATH": TOKEN_PATH}
            floor_refresh = {**refresh, "BENCH_PATH": "/refresh"}
            me = {**keys, "BENCH_FILE": str(files["access"]), "BENCH_PATH": ME_PATH}
            floor_me = {**me, "BENCH_PATH": "/me"}

            log(f"1. refresh, one process vs two behind one port, c={CONNECTIONS}")
            r = compare(
                [
                    Target("api x1", api1, "refresh.lua", refresh, CONNECTIONS),
                    Target("api x2", api2, "refresh.lua", refresh, CONNECTIONS),
                    Target("floor x1", floor1, "refresh.lua", floor_refresh, CONNECTIONS),
                    Target("floor x2", floor2, "refresh.lua", floor_refresh, CONNECTIONS),
                ]
            )
            notes = {
                name: idle_and_split(server, "refresh.lua", env)
                for name, server, env in (
                    ("api x1", api1, refresh),
                    ("api x2", api2, refresh),
                    ("floor x2", floor2, floor_refresh),
                )
            }
            rows += scale_rows("refresh", r, notes)

            log(f"2. GET {ME_PATH}, one process vs two, c={CONNECTIONS}")
            m = compare(
                [
                    Target("api x1", api1, "me.lua", me, CONNECTIONS),
                    Target("api x2", api2, "me.lua", me, CONNECTIONS),
                    Target("floor x1", floor1, "me.lua", floor_me, CONNECTIONS),
                ]
            )
            rows += p99_rows("users/me", m)
        finally:
            for server in servers:
                server.stop()
    print_table(
        "Summary", ("measurement", "value", "goal", "result"),
        [(r.name, r.value, r.goal, verdict(r.ok)) for r in rows],
    )  # fmt: skip
    print(f"\nload average at the end: {loadavg()}")


def scale_rows(what: str, r: dict[str, WrkResult], notes: dict[str, str]) -> list[Row]:
    api1, api2, floor1, floor2 = r["api x1"], r["api x2"], r["floor x1"], r["floor x2"]
    api_scale = ratio(api2.good_rps, api1.good_rps)
    floor_scale = ratio(floor2.good_rps, floor1.good_rps)
    return [
        Row(
            f"{what} req/s: 1 / 2 API processes",
            f"{api1.good_rps:.0f} / {api2.good_rps:.0f} ({api_scale:.2f}x)",
            f">= {SCALE_GOAL}x",
            api_scale >= SCALE_GOAL,
        ),
        Row(
            f"{what} req/s: 1 / 2 floor processes",
            f"{floor1.good_rps:.0f} / {floor2.good_rps:.0f} ({floor_scale:.2f}x; "
            f"api x2 / floor x2 {ratio(api2.good_rps, floor2.good_rps):.0%})",
        ),
        Row(
            f"{what} CPU/req (all processes): api x1 / x2",
            f"{api1.cpu_us:.0f} / {api2.cpu_us:.0f} us",
        ),
        *(Row(f"{what} {name}: machine", note) for name, note in notes.items()),
        *p99_rows(what, r),
    ]


def p99_rows(what: str, r: dict[str, WrkResult]) -> list[Row]:
    out = []
    for name in ("api x1", "api x2"):
        res = r[name]
        # Little's law: with every connection busy, the median is at least c / throughput.
        bound = CONNECTIONS / res.good_rps * 1000 if res.good_rps else 0.0
        out.append(
            Row(
                f"{what} p99 c={CONNECTIONS}, {name}",
                f"{res.p99:.1f} ms (p50 {res.p50:.1f}; c/throughput {bound:.1f} ms)",
                f"< {P99_GOAL_MS:g} ms",
                res.p99 < P99_GOAL_MS and res.non_2xx == 0,
            )
        )
    floor = r["floor x1"]
    out.append(Row(f"{what} p99 c={CONNECTIONS}, floor x1", f"{floor.p99:.1f} ms"))
    return out


def main() -> int:
    if not bench_ready():
        return 2
    with tempfile.TemporaryDirectory(prefix="authstack-scale-") as work:
        run(Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
