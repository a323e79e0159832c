"""The embedded engine's admin query sandbox: one short-lived process per query, one project's rows.

The embedded engine (chdb) has no users or row policies, and ``readonly=1`` still lets a query read
every table it can see, so isolation is physical: the API process exports only the asking
project's rows of each public view (``Slice``) and a separate child process that holds nothing
else runs the admin's query over them, then exits. The child (``sandbox_child``) starts with a
minimal environment in a private 0700 folder, opens an in-memory engine, confines itself with
Landlock where the kernel has it, and serves exactly one job under ``readonly=1`` and the limits.

One warm spare child is kept started, so a query does not wait for the engine's start-up. The
parent enforces what the child cannot be trusted to: the time (it kills the child's process group
past the timeout and a grace), the size of what it reads back, and that every failure, crash or
garbage becomes ``QueryRefused``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from authstack_core.analytics.query_errors import GENERIC_MESSAGE, QueryRefused, safe_message

__all__ = ["Outcome", "QueryRefused", "Sandbox", "Slice"]

log = structlog.get_logger(__name__)

CHILD_MODULE = "authstack_core.analytics.sandbox_child"
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_HEADER_CAP = 4 * 1024 * 1024  # one protocol line (an error message quotes the query)
_STDERR_TAIL = 16 * 1024
_READ_CHUNK = 1024 * 1024
_READY_GRACE_S = 2.0
# The answer's JSON may be this many times max_result_bytes. The engine's own byte limit does
# not count constant columns (a repeat() of a literal passes it whatever its size), so this cap is
# what keeps an answer near the contract's 10 MiB; JSONEachRow's repeated column names get twice.
_JSON_EXPANSION = 2


@dataclass(frozen=True, slots=True)
class Slice:
    """One public view's rows for one project, as ClickHouse Native bytes (names and types)."""

    table: str  # the view's name in database `default`, e.g. "events"
    native: bytes
    # ClickHouse structure ("a String, b UInt8") for when `native` is empty: an export of no
    # rows has no Native header, and without a structure the table does not exist in the job.
    structure: str = ""

    def __post_init__(self) -> None:
        if not _TABLE_NAME.match(self.table):
            raise ValueError(f"not a table name: {self.table!r}")


@dataclass(frozen=True, slots=True)
class Outcome:
    rows: list[dict[str, Any]]
    cpu_time_ms: float
    wall_clock_time_ms: float


class _ChildFailed(Exception):  # noqa: N818 (internal; reads better as is)
    """The child broke the protocol, died, or ran out of time: never shown to the admin."""

    def __init__(self, stage: str, reason: str, admin_message: str = GENERIC_MESSAGE) -> None:
        super().__init__(f"{reason} while {stage}")
        self.stage = stage
        self.reason = reason
        self.admin_message = admin_message


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen[bytes]
    workdir: str
    started: float = field(default_factory=time.monotonic)
    stderr_tail: bytes = b""
    confined: bool | None = None
    _gone: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def discard(self) -> None:
        """Kill the child's process group, reap it and remove its folder (idempotent)."""
        with self._lock:
            if self._gone:
                return
            self._gone = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Sandbox:
    """Runs admin queries over slices in throwaway child processes; one per API process.

    Thread and task safe: each ``run`` takes its own child; the spare is handed out under a lock.
    """

    def __init__(
        self,
        *,
        keep_spare: bool = True,
        startup_timeout_s: float = 30.0,
        load_timeout_s: float = 120.0,
        grace_s: float = 2.0,
    ) -> None:
        self._keep_spare = keep_spare
        self._startup_timeout_s = startup_timeout_s
        self._load_timeout_s = load_timeout_s
        self._grace_s = grace_s
        self._lock = threading.Lock()
        self._spare: _Child | None = None
        self._running: set[_Child] = set()
        self._closed = False
        self._warned_unconfined = False

    async def run(
        self,
        slices: Sequence[Slice],
        query: str,
        params: Mapping[str, Any],
        *,
        timeout_ms: int,
        query_id: str,
        max_result_rows: int = 10_000,
        max_result_bytes: int = 10 * 1024 * 1024,
    ) -> Outcome:
        """Run one admin query over ``slices`` (as ``default.<table>``) with ``params`` bound.

        Raises QueryRefused for anything short of a result: the engine's error (with only what
        ``safe_message`` keeps), the timeout, an oversized result, or a child that failed.
        """
        if timeout_ms <= 0 or max_result_rows <= 0 or max_result_bytes <= 0:
            raise ValueError("timeout and limits must be positive")
        if len({s.table for s in slices}) != len(slices):
            raise ValueError("one slice per table")
        job = {
            "query": query,
            "params": dict(params),
            "tables": [[s.table, f"slice-{i}.native", s.structure] for i, s in enumerate(slices)],
            "timeout_ms": timeout_ms,
            "max_result_rows": max_result_rows,
            "max_result_bytes": max_result_bytes,
        }
        job_line = json.dumps(job, default=str).encode() + b"\n"
        payload_cap = max_result_bytes * _JSON_EXPANSION + _READ_CHUNK
        child = await asyncio.to_thread(self._take)
        try:
            header, payload = await asyncio.to_thread(
                self._exchange, child, slices, job_line, timeout_ms, payload_cap
            )
        except _ChildFailed as exc:
            log.warning(
                "analytics_sandbox_failed",
                query_id=query_id,
                stage=exc.stage,
                reason=exc.reason,
                stderr=child.stderr_tail.decode(errors="replace")[-2000:],
            )
            raise QueryRefused(exc.admin_message) from None
        finally:
            with self._lock:
                self._running.discard(child)
            await asyncio.to_thread(child.discard)
        if header.get("ok") is not True:
            code = header.get("code")
            message = header.get("message")
            raise QueryRefused(
                safe_message(code if isinstance(code, int) else None, str(message or ""))
            )
        return Outcome(
            rows=_parse_rows(payload),
            cpu_time_ms=float(header.get("cpu_time_ms", 0.0)),
            wall_clock_time_ms=float(header.get("wall_clock_time_ms", 0.0)),
        )

    async def aclose(self) -> None:
        """Kill the spare and any running child; later ``run`` calls are refused."""
        with self._lock:
            self._closed = True
            children = [*self._running, *([self._spare] if self._spare else [])]
            self._spare = None
            self._running.clear()
        for child in children:
            await asyncio.to_thread(child.discard)

    def _take(self) -> _Child:
        with self._lock:
            if self._closed:
                raise QueryRefused("The analytics sandbox is shut down.")
            child, self._spare = self._spare, None
            if child is not None and child.proc.poll() is not None:
                stale, child = child, None
                stale.discard()
            if child is None:
                child = self._start()
            if self._keep_spare:
                self._spare = self._start()
            self._running.add(child)
            return child

    @staticmethod
    def _start() -> _Child:
        workdir = tempfile.mkdtemp(prefix="authstack-sandbox-")  # mode 0700
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "HOME": workdir,
            "TMPDIR": workdir,
        }
        try:
            proc = subprocess.Popen(  # noqa: S603 (our own module, by the running interpreter)
                [sys.executable, "-I", "-m", CHILD_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=env,
                start_new_session=True,  # its own process group, killed as one
                close_fds=True,
            )
        except OSError:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return _Child(proc=proc, workdir=workdir)

    def _exchange(
        self,
        child: _Child,
        slices: Sequence[Slice],
        job_line: bytes,
        timeout_ms: int,
        payload_cap: int,
    ) -> tuple[dict[str, Any], bytes]:
        try:
            for i, piece in enumerate(slices):
                path = os.path.join(child.workdir, f"slice-{i}.native")
                with open(path, "xb") as file:
                    file.write(piece.native)
        except OSError as exc:
            raise _ChildFailed("writing slices", str(exc)) from None
        return _Protocol(self, child, job_line, timeout_ms, payload_cap).run()

    def _note_confinement(self, child: _Child) -> None:
        if child.confined is False and not self._warned_unconfined:
            self._warned_unconfined = True
            log.warning(
                "analytics_sandbox_unconfined",
                detail="no Landlock in this kernel: the child's writes and network are not "
                "confined by the kernel, only by the engine's readonly mode",
            )


class _Protocol:
    """Feeds the job to one child and reads its answer under the stage deadlines and caps."""

    def __init__(
        self, sandbox: Sandbox, child: _Child, job_line: bytes, timeout_ms: int, payload_cap: int
    ) -> None:
        self.sandbox = sandbox
        self.child = child
        self.pending = memoryview(job_line)
        self.timeout_s = timeout_ms / 1000
        self.payload_cap = payload_cap
        self.stage = "starting"
        # A spare has been starting since it was made: its start-up clock began then. One that
        # has waited longer than that as a spare has long said "ready" (the line waits in the
        # pipe): give reading it a moment rather than refusing at once.
        self.deadline = max(
            child.started + sandbox._startup_timeout_s, time.monotonic() + _READY_GRACE_S
        )
        self.buffer = bytearray()
        self.result: dict[str, Any] | None = None

    def run(self) -> tuple[dict[str, Any], bytes]:
        proc = self.child.proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        fds = {proc.stdin.fileno(): "in", proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}
        with selectors.DefaultSelector() as selector:
            for fd, name in fds.items():
                os.set_blocking(fd, False)
                selector.register(
                    fd, selectors.EVENT_WRITE if name == "in" else selectors.EVENT_READ, name
                )
            while True:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self._time_out()
                for key, _ in selector.select(remaining):
                    fd = int(key.fd)
                    if key.data == "in":
                        self._write(selector, fd)
                    elif key.data == "err":
                        self._read_stderr(selector, fd)
                    else:
                        chunk = os.read(fd, _READ_CHUNK)
                        if not chunk:
                            raise _ChildFailed(self.stage, f"child exited ({proc.poll()})")
                        self.buffer += chunk
                        answer = self._parse()
                        if answer is not None:
                            return answer

    def _time_out(self) -> None:
        if self.stage == "querying":
            raise _ChildFailed(
                self.stage,
                "timeout",
                "Timeout exceeded: the query did not finish within its time limit.",
            )
        raise _ChildFailed(self.stage, "timeout")

    def _write(self, selector: selectors.BaseSelector, fd: int) -> None:
        try:
            written = os.write(fd, self.pending[:_READ_CHUNK])
        except BrokenPipeError:
            written, self.pending = 0, memoryview(b"")
        self.pending = self.pending[written:]
        if not self.pending:
            selector.unregister(fd)
            assert self.child.proc.stdin is not None
            self.child.proc.stdin.close()

    def _read_stderr(self, selector: selectors.BaseSelector, fd: int) -> None:
        chunk = os.read(fd, _READ_CHUNK)
        if not chunk:
            selector.unregister(fd)
            return
        self.child.stderr_tail = (self.child.stderr_tail + chunk)[-_STDERR_TAIL:]

    def _parse(self) -> tuple[dict[str, Any], bytes] | None:
        while self.result is None:
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > _HEADER_CAP:
                    raise _ChildFailed(self.stage, "header too long")
                return None
            try:
                header = json.loads(bytes(self.buffer[:end]))
            except ValueError:
                raise _ChildFailed(self.stage, "garbage header") from None
            del self.buffer[: end + 1]
            if not isinstance(header, dict):
                raise _ChildFailed(self.stage, "garbage header")
            if header.get("ok") is False:
                return header, b""
            self._advance(header)
        size = self.result["size"]
        if len(self.buffer) > size:
            raise _ChildFailed(self.stage, "bytes after the result")
        if len(self.buffer) == size:
            return self.result, bytes(self.buffer)
        return None

    def _advance(self, header: dict[str, Any]) -> None:
        now = time.monotonic()
        if self.stage == "starting" and header.get("ready") is True:
            self.child.confined = bool(header.get("confined"))
            self.sandbox._note_confinement(self.child)
            self.stage, self.deadline = "loading", now + self.sandbox._load_timeout_s
        elif self.stage == "loading" and header.get("loaded") is True:
            self.stage, self.deadline = "querying", now + self.timeout_s + self.sandbox._grace_s
        elif self.stage == "querying" and header.get("ok") is True:
            size = header.get("size")
            if not isinstance(size, int) or size < 0:
                raise _ChildFailed(self.stage, "garbage header")
            if size > self.payload_cap:
                raise _ChildFailed(self.stage, "result too large", _TOO_LARGE)
            self.result = header
        else:
            raise _ChildFailed(self.stage, "unexpected header")


_TOO_LARGE = "The result is larger than the allowed size."


def _parse_rows(payload: bytes) -> list[dict[str, Any]]:
    try:
        rows = [json.loads(line) for line in payload.splitlines() if line.strip()]
    except ValueError:
        rows = [None]
    if not all(isinstance(row, dict) for row in rows):
        raise QueryRefused("The query's result is not rows: leave out FORMAT.")
    return rows
