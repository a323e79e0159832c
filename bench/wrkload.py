"""Servers under load: starting them, driving wrk against them, and the report's rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tests.factories import free_port, stop_process, wait_healthy

from knobs import BENCH_DIR, LUA_DIR, ROUNDS, SECONDS, THROUGHPUT_CONNECTIONS, WARMUP
from procstats import cpu_seconds


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process)


# Seconds a server may take to answer /health: start-ups are slow on a loaded, shared machine.
START_TIMEOUT = 90.0


def start_server(name: str, argv: list[str], env: dict[str, str], port: int, work: Path) -> Server:
    log_path = work / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=BENCH_DIR
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    wait_healthy(process, f"{server.url}/health", name, START_TIMEOUT, log_path=log_path)
    return server


def start_api(name: str, env: dict[str, str], work: Path, **extra: str) -> Server:
    """``python -m authstack_api`` on a free loopback port, with ``env`` and ``extra``."""
    port = free_port()
    env = {**env, **extra, "STACK_API_PORT": str(port), "STACK_API_HOST": "127.0.0.1"}
    return start_server(name, [sys.executable, "-m", "authstack_api"], env, port, work)


def run_child(argv: list[str], env: dict[str, str], *, timeout: float = 600) -> str:
    """Run a helper process to its end; its stdout. Raise with its output if it fails."""
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        name = Path(argv[1]).name if len(argv) > 1 else argv[0]
        raise RuntimeError(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def json_child(argv: list[str], env: dict[str, str], *, timeout: float = 600) -> Any:
    """``run_child``, then the JSON of the last line it printed."""
    return json.loads(run_child(argv, env, timeout=timeout).strip().splitlines()[-1])


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    socket_errors: int
    non_2xx: int
    cpu_us: float = 0.0  # the server's CPU time per request (user + system), when measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def good_rps(self) -> float:
        """Requests per second that were answered 2xx."""
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        cpu = f"  cpu {self.cpu_us:5.0f} us/req" if self.cpu_us else ""
        bad = ""
        if self.non_2xx or self.socket_errors:
            bad = f"  [{self.non_2xx} non-2xx, {self.socket_errors} socket errors]"
        return (
            f"{self.rps:8.1f} req/s  p50 {self.p50:6.1f}  p95 {self.p95:6.1f}  "
            f"p99 {self.p99:6.1f}  max {self.max:6.1f} ms{cpu}{bad}"
        )


class Wrk:
    """One wrk run (1 thread) in the background; ``result()`` waits for it and parses its line."""

    def __init__(
        self,
        server: Server,
        script: str,
        env: dict[str, str],
        *,
        connections: int,
        seconds: float,
    ) -> None:
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_DIR / script),
            server.url,
        ]
        self.server = server
        self.cpu_before = cpu_seconds(server.pid)
        self.process = subprocess.Popen(
            argv,
            env={**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> WrkResult:
        out, err = self.process.communicate(timeout=120)
        cpu = cpu_seconds(self.server.pid) - self.cpu_before
        for line in out.splitlines():
            if line.startswith("BENCH_JSON "):
                d = json.loads(line.removeprefix("BENCH_JSON "))
                return WrkResult(
                    requests=d["requests"],
                    seconds=d["duration_us"] / 1e6,
                    p50=d["p50"] / 1000,
                    p90=d["p90"] / 1000,
                    p95=d["p95"] / 1000,
                    p99=d["p99"] / 1000,
                    max=d["max"] / 1000,
                    socket_errors=d["connect"] + d["read"] + d["write"] + d["timeout"],
                    non_2xx=d["status"],
                    cpu_us=cpu / d["requests"] * 1e6 if d["requests"] else 0.0,
                )
        raise RuntimeError(f"wrk printed no result:\n{out}\n{err}")


def wrk(
    server: Server, script: str, env: dict[str, str], *, connections: int, seconds: float
) -> WrkResult:
    return Wrk(server, script, env, connections=connections, seconds=seconds).result()


@dataclass
class Target:
    name: str
    server: Server
    script: str
    env: dict[str, str]
    connections: int = THROUGHPUT_CONNECTIONS


def compare(
    targets: list[Target], every: dict[str, list[WrkResult]] | None = None
) -> dict[str, WrkResult]:
    """Warm each target, then alternate them ROUNDS times. Each keeps its best round (the least
    disturbed by other tenants), with the lowest CPU/request seen over its rounds. ``every``,
    when given, receives each target's runs, warm-up included (what the server was sent)."""
    runs: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
    for t in targets:
        warm = wrk(t.server, t.script, t.env, connections=t.connections, seconds=WARMUP)
        if every is not None:
            every.setdefault(t.name, []).append(warm)
    for round_no in range(ROUNDS):
        for t in targets if round_no % 2 == 0 else list(reversed(targets)):
            r = wrk(t.server, t.script, t.env, connections=t.connections, seconds=SECONDS)
            runs[t.name].append(r)
            if every is not None:
                every.setdefault(t.name, []).append(r)
            log(f"  {t.name:<32} round {round_no + 1}: {r.describe()}")
    best = {}
    for name, rs in runs.items():
        top = max(rs, key=lambda r: r.good_rps)
        best[name] = replace(top, cpu_us=min(r.cpu_us for r in rs))
    return best


@dataclass
class Row:
    name: str
    value: str
    goal: str = ""
    ok: bool | None = None  # None: for information


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(f"\n{title}\n{line}\n{'-' * len(line)}")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    sys.stdout.flush()


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("pass" if ok else "MISS")


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def cpu_pair(api: WrkResult, floor: WrkResult) -> str:
    return (
        f"{api.cpu_us:.0f} / {floor.cpu_us:.0f} us "
        f"(floor/api {ratio(floor.cpu_us, api.cpu_us):.0%})"
    )
