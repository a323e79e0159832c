"""Factories the tests and the benchmarks share: scratch databases, projects, local processes.

Ids the seed owns (the internal project and its owner team) are imported from the seed, never
copied, so a test or a bench cannot drift from what the migrator writes.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from authstack_core.crypto.codes import new_project_key, sha256_bytes
from authstack_core.models.config import NEW_PROJECT_OVERRIDE
from authstack_migrator.seed import (
    ADMIN_USER_ID,
    INTERNAL_KEY_SET_ID,
    INTERNAL_PROJECT_ID,
    INTERNAL_TEAM_ID,
)

__all__ = [
    "ADMIN_URL",
    "ADMIN_USER_ID",
    "INTERNAL_KEY_SET_ID",
    "INTERNAL_PROJECT_ID",
    "INTERNAL_TEAM_ID",
    "Project",
    "create_project",
    "database_url_named",
    "free_port",
    "fresh_database",
    "query_row",
    "query_rows",
    "query_value",
    "run_captured",
    "stop_process",
    "wait_healthy",
]

ADMIN_URL = os.environ.get(
    "AUTHSTACK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# What the project-creation endpoint writes, minus the admin bookkeeping a test does not need.
INSERT_PROJECT = (
    "INSERT INTO projects (id, display_name, owner_team_id) "
    "VALUES (%(id)s, %(display_name)s, %(owner_team_id)s)"
)
INSERT_TENANCY = (
    "INSERT INTO tenancies (id, project_id, branch_id, environment_config_override) "
    "VALUES (%(id)s, %(project_id)s, 'main', %(config)s)"
)
INSERT_KEY_SET = (
    "INSERT INTO api_key_sets (project_id, id, publishable_client_key_hash, "
    "secret_server_key_hash, super_secret_admin_key_hash) "
    "VALUES (%(project_id)s, %(id)s, %(pck)s, %(ssk)s, %(sak)s)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url_named(name: str, admin_url: str = ADMIN_URL) -> str:
    """The URL of database ``name`` on the server ``admin_url`` points at."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def fresh_database(prefix: str, admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<random>``, dropped (connections and all) after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url_named(name, admin_url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def query_row(
    database_url: str, statement: str, params: Sequence[Any] = ()
) -> tuple[Any, ...] | None:
    """The first row ``statement`` returns (None if none), on a connection of its own."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(statement, params).fetchone()  # type: ignore[arg-type]


def query_value(database_url: str, statement: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row ``statement`` returns; the test fails if there is none."""
    row = query_row(database_url, statement, params)
    assert row is not None, statement
    return row[0]


def query_rows(database_url: str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """Every row ``statement`` returns, on a connection of its own."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


@dataclass
class Project:
    """A project made for one test, with its keys in plaintext."""

    id: str
    tenancy_id: str
    publishable_client_key: str
    secret_server_key: str
    super_secret_admin_key: str

    def headers(self, access_type: str = "client", **extra: str) -> dict[str, str]:
        h = {"x-stack-access-type": access_type, "x-stack-project-id": self.id}
        if access_type == "client":
            h["x-stack-publishable-client-key"] = self.publishable_client_key
        elif access_type == "server":
            h["x-stack-secret-server-key"] = self.secret_server_key
        else:
            h["x-stack-super-secret-admin-key"] = self.super_secret_admin_key
        h.update(extra)
        return h


def create_project(
    database_url: str, config: dict[str, Any] | None = None, *, name: str = "Test project"
) -> Project:
    """Insert a project owned by the internal team, its tenancy and one key set.

    The config starts from what a new project gets, with localhost redirects allowed; ``config``
    is laid over that.
    """
    project_id = str(uuid.uuid4())
    tenancy_id = str(uuid.uuid4())
    pck, ssk, sak = new_project_key("pck"), new_project_key("ssk"), new_project_key("sak")
    override = {**NEW_PROJECT_OVERRIDE, "domains.allowLocalhost": True, **(config or {})}
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            INSERT_PROJECT,
            {
                "id": project_id,
                "display_name": f"{name} {project_id[:8]}",
                "owner_team_id": INTERNAL_TEAM_ID,
            },
        )
        conn.execute(
            INSERT_TENANCY,
            {"id": tenancy_id, "project_id": project_id, "config": Jsonb(override)},
        )
        conn.execute(
            INSERT_KEY_SET,
            {
                "project_id": project_id,
                "id": uuid.uuid4(),
                "pck": sha256_bytes(pck),
                "ssk": sha256_bytes(ssk),
                "sak": sha256_bytes(sak),
            },
        )
    return Project(project_id, tenancy_id, pck, ssk, sak)


def run_captured(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to its end (at most ``timeout`` s), output captured as text; the caller
    judges the exit code."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(
    process: subprocess.Popen[bytes],
    health_url: str,
    name: str,
    timeout: float = 30,
    log_path: Path | None = None,
) -> None:
    """Wait until ``health_url`` answers 200; stop the process and raise if it exits or stalls."""
    see = f"; see {log_path}" if log_path else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}{see}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s{see}")


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> Any:
    """``scripts/<name>.py`` as a module named ``name`` (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@contextmanager
def serving(server: HTTPServer) -> Iterator[None]:
    """Run ``server`` in a daemon thread until the block ends, then close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
