"""The sandbox's child process: one admin query over one project's rows in memory, then exit.

Started by ``sandbox.Sandbox`` as ``python -I -m authstack_core.analytics.sandbox_child`` in a
private temporary directory (its cwd, HOME and TMPDIR) with a minimal environment. It opens an
in-memory chdb engine (which keeps its scratch folder under TMPDIR and opens no store), confines
itself with Landlock where the kernel has it (writes only inside its directory, reads only from
the system and Python folders, no TCP, no signals or abstract sockets outside itself), says it is
ready, and waits for one job.

Protocol, one JSON object per line on stdout (stdin carries the job line)::

    -> {"ready": true, "confined": bool}
    <- {"query", "params", "tables": [[name, file, structure]], "timeout_ms", "max_result_rows",
        "max_result_bytes"}
    -> {"loaded": true}
    -> {"ok": true, "size": N, "cpu_time_ms", "wall_clock_time_ms"}  then N bytes of JSONEachRow
       or {"ok": false, "code": int | null, "message": str}

Messages are raw engine text: the parent decides what an admin may read.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import shutil
import sys
import time
from typing import IO, Any
from urllib.parse import urlencode

MAX_JOB_BYTES = 64 * 1024 * 1024
MEMORY_LIMIT_BYTES = 1024**3
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CODE = re.compile(r"Code:\s*(\d+)\.")

# Landlock (Linux >= 5.13); the numbers are the kernel's uapi, the same on every architecture.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_CONNECT_TCP = 0b11  # ABI 4
_SCOPE_ABSTRACT_UNIX_AND_SIGNAL = 0b11  # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _readable_roots() -> list[str]:
    """Folders the engine and Python may still read from once confined: no project, no store."""
    import chdb  # noqa: PLC0415  (already loaded; only its folder is wanted)

    roots = ["/usr", "/lib", "/lib64", "/proc", "/sys", "/dev/null", "/dev/urandom"]
    roots += ["/etc/localtime", "/etc/ssl"]
    roots += [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(chdb.__file__)]
    return sorted({os.path.realpath(r) for r in roots if os.path.exists(r)})


def confine(workdir: str) -> bool:
    """Landlock this process: True when confined, False when the kernel has no Landlock."""
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return False
    fs_rights = _FS_RIGHTS_BY_ABI[max(k for k in _FS_RIGHTS_BY_ABI if k <= abi)]
    attr = _RulesetAttr(fs_rights, _NET_BIND_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_AND_SIGNAL
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = syscall(
        _SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        return False
    try:
        read_only = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
        rules = [(path, read_only) for path in _readable_roots()]
        rules.append((workdir, fs_rights))
        for path, rights in rules:
            directory = os.path.isdir(path)
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(rights if directory else rights & ~_FS_READ_DIR, fd)
                if syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
        if syscall(_SYS_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return True


def query_settings(job: dict[str, Any]) -> dict[str, Any]:
    """The session settings of the admin's connection; ``readonly=1`` keeps it from changing any."""
    return {
        "max_execution_time": max(job["timeout_ms"], 1) / 1000,
        "timeout_overflow_mode": "throw",
        "max_result_rows": job["max_result_rows"],
        "max_result_bytes": job["max_result_bytes"],
        "result_overflow_mode": "throw",
        "max_memory_usage": MEMORY_LIMIT_BYTES,
        # Nothing spills to disk: a query over its memory fails instead of filling the folder.
        "max_bytes_before_external_group_by": 0,
        "max_bytes_before_external_sort": 0,
        "max_bytes_ratio_before_external_group_by": 0,
        "max_bytes_ratio_before_external_sort": 0,
        "max_threads": min(os.cpu_count() or 1, 4),
        "readonly": 1,
    }


def _error(exc: BaseException) -> dict[str, Any]:
    message = str(exc)
    found = _CODE.search(message)
    return {"ok": False, "code": int(found.group(1)) if found else None, "message": message}


def _send(out: IO[bytes], header: dict[str, Any], payload: bytes = b"") -> None:
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


def load(conn: Any, tables: list[list[str]]) -> None:
    """Create ``default.<name>`` as a Memory table of each slice file, then delete the file."""
    for name, file_name, structure in tables:
        if not TABLE_NAME.match(name) or os.path.basename(file_name) != file_name:
            raise ValueError("bad slice name")
        path = os.path.join(os.getcwd(), file_name)
        # An empty Native export has no header: the structure the parent sent stands in for it;
        # without one there is no table, as if the view did not exist.
        if structure or os.path.getsize(path) > 0:
            source = "file({path:String}, Native" + (", {structure:String})" if structure else ")")
            conn.query(
                f"CREATE TABLE default.`{name}` ENGINE = Memory AS SELECT * FROM {source}",  # noqa: S608
                params={"path": path, "structure": structure},
            )
        os.unlink(path)


def run_job(job: dict[str, Any], out: IO[bytes], loader: Any, connect: Any) -> None:
    """Load the slices, then run the admin's single statement under readonly and limits."""
    load(loader, job["tables"])
    conn = connect(":memory:?" + urlencode(query_settings(job)))
    loader.close()  # after the admin's connection opened: the last one closed ends the engine
    _send(out, {"loaded": True})
    query, params = job["query"], job["params"]
    # The engine's own parser refuses several statements (the embedded engine would run them all).
    try:
        conn.query("SELECT formatQuerySingleLine({q:String})", "TSV", params={"q": query})
    except Exception as exc:
        # The parser's message is the admin's; the wrapping query is ours, not theirs to read.
        report = _error(exc)
        report["message"] = report["message"].split(" In scope SELECT formatQuerySingleLine")[0]
        _send(out, report)
        return
    cpu, wall = time.process_time(), time.perf_counter()
    result = conn.query(query, "JSONEachRow", params=params)
    data = result.bytes()
    cpu_ms, wall_ms = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
    header = {"ok": True, "size": len(data), "cpu_time_ms": cpu_ms, "wall_clock_time_ms": wall_ms}
    _send(out, header, data)


def main() -> None:
    """Serve exactly one job, then exit; any failure is reported on the protocol, never raised."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = os.fdopen(os.dup(1), "wb")
    # The engine may write to stdout: fd 1 goes nowhere so it cannot corrupt the protocol.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        from chdb import state  # noqa: PLC0415  (~0.3 s, ~320 MB: only the child pays it)

        loader = state.connect(":memory:")
        confined = confine(os.getcwd())
    except Exception as exc:  # reported to the parent, which refuses the query
        _send(out, _error(exc))
        return
    _send(out, {"ready": True, "confined": confined})
    line = sys.stdin.buffer.readline(MAX_JOB_BYTES)
    if not line:  # the parent went away before giving a job: leave nothing behind
        shutil.rmtree(os.getcwd(), ignore_errors=True)
        return
    try:
        job = json.loads(line)
        run_job(job, out, loader, state.connect)
    except Exception as exc:  # the engine's errors are the admin's answer
        _send(out, _error(exc))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # no engine shutdown: the process and its folder are thrown away
