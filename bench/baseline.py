"""``--baseline REV``: the hot paths of today's API beside the API as it was at an earlier commit.

The earlier API runs from a detached git worktree of REV (its own ``authstack_core`` and
``authstack_api`` put first on ``PYTHONPATH``, the same virtualenv and the same database and
Redis), so the two differ only in their code. Refresh and ``/users/me`` are loaded alternately,
as the floor comparisons are, and reported as ratios: the machine is shared and noisy, and a ratio
of figures measured side by side survives that better than a figure compared across days.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.factories import free_port

from knobs import BENCH_DIR, ME_PATH, THROUGHPUT_CONNECTIONS, TOKEN_PATH
from measurements import Setup
from wrkload import Row, Server, Target, compare, log, ratio, start_server

ROOT = BENCH_DIR.parent


SOURCES = ("libs/core/src", "services/api/src")


@contextmanager
def revision_sources(rev: str, work: Path) -> Iterator[str]:
    """A ``PYTHONPATH`` that imports ``authstack_core`` and ``authstack_api`` as they were at
    ``rev`` (a throwaway worktree under ``work``, removed on the way out)."""
    tree = work / f"rev-{rev}"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--quiet", "--detach", str(tree), rev], check=True)
    try:
        pythonpath = os.pathsep.join(str(tree / s) for s in SOURCES)
        check_sources(pythonpath, tree)
        yield pythonpath
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


@contextmanager
def baseline_api(rev: str, env: dict[str, str], work: Path) -> Iterator[Server]:
    """The API at ``rev``, served from a throwaway worktree."""
    with revision_sources(rev, work) as pythonpath:
        port = free_port()
        server = start_server(
            "baseline",
            [sys.executable, "-m", "authstack_api"],
            {
                **env,
                "PYTHONPATH": pythonpath,
                "STACK_API_PORT": str(port),
                "STACK_API_HOST": "127.0.0.1",
            },
            port,
            work,
        )
        try:
            yield server
        finally:
            server.stop()


def check_sources(pythonpath: str, tree: Path) -> None:
    """Refuse to compare if the baseline would import today's code instead of REV's."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import authstack_api, authstack_core as c; "
            "print(authstack_api.__file__); print(c.__file__)",
        ],
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=True,
    )
    for path in probe.stdout.split():
        if not Path(path).resolve().is_relative_to(tree.resolve()):
            raise RuntimeError(f"the baseline would import {path}, not the code at its commit")


def measure_baseline(s: Setup, baseline: Server, rev: str) -> list[Row]:
    """Refresh and /users/me, today's API against the API at ``rev``."""
    then = f"api at {rev}"
    rows: list[Row] = []
    loads = (
        (
            "refresh",
            "refresh.lua",
            {"BENCH_FILE": str(s.files["tokens"]), "BENCH_PATH": TOKEN_PATH},
        ),
        ("users/me", "me.lua", {"BENCH_FILE": str(s.files["access"]), "BENCH_PATH": ME_PATH}),
    )
    for name, script, extra in loads:
        log(f"baseline: {name}, today's API and {then}, c={THROUGHPUT_CONNECTIONS}")
        env = {**s.keys(), **extra}
        r = compare([Target("api", s.api, script, env), Target(then, baseline, script, env)])
        now, before = r["api"], r[then]
        rows += [
            Row(f"{name} req/s: today / {rev}", f"{now.good_rps:.0f} / {before.good_rps:.0f}"),
            Row(
                f"{name} today/{rev} (req/s)",
                f"{ratio(now.good_rps, before.good_rps):.0%}",
                ">= 95%",
                ratio(now.good_rps, before.good_rps) >= 0.95,
            ),
            Row(
                f"{name} CPU/req: today / {rev}",
                f"{now.cpu_us:.0f} / {before.cpu_us:.0f} us "
                f"(today/{rev} {ratio(now.cpu_us, before.cpu_us):.0%})",
            ),
            Row(f"{name} p99: today / {rev}", f"{now.p99:.1f} / {before.p99:.1f} ms"),
        ]
    return rows
