"""What the bench reads about the machine and its processes (/proc), and raw bcrypt speed."""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import psycopg

from knobs import ADMIN_URL, PASSWORD


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_info() -> list[tuple[str, str]]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    with psycopg.connect(ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) // 1024} MiB"
    return [
        ("nproc", nproc),
        ("cpu model", model),
        ("memory", memory),
        ("python", platform.python_version()),
        ("postgres", row[0] if row else "?"),
        ("wrk", (wrk_version.stdout or wrk_version.stderr).split("Copyright")[0].strip()),
        ("load average (1/5/15 min)", loadavg()),
    ]


def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def descendants(pid: int) -> list[int]:
    """The children of a process, their children, and so on (those alive now)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process (all its threads) and of its descendants
    (a server's workers): the live ones', plus what the ones it has reaped had used."""
    total = 0.0
    for one in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if one == pid:
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> list[float]:
    """CPU seconds so far of each worker of a supervisor (its children), in pid order."""
    out = []
    for child in sorted(descendants(pid)):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return out


def bcrypt_rate(threads: int, seconds: float) -> tuple[float, float]:
    """checkpw calls per second at cost 10 with ``threads`` threads (bcrypt releases the GIL),
    and the CPU time one call takes (thread CPU time, which other tenants disturb little)."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10))
    deadline = time.monotonic() + seconds

    def work(_: int) -> tuple[int, float]:
        n, cpu = 0, time.thread_time()
        while time.monotonic() < deadline:
            bcrypt.checkpw(PASSWORD.encode(), hashed)
            n += 1
        return n, time.thread_time() - cpu

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(work, range(threads)))
    calls = sum(n for n, _ in done)
    return calls / (time.monotonic() - started), sum(c for _, c in done) / max(1, calls)


class MemorySampler:
    """Samples a process's VmRSS every 0.25 s in a thread and keeps the largest value."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.max_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.max_rss = max(self.max_rss, proc_memory(self.pid).get("VmRSS", 0.0))
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
