"""Shared fixtures: a fresh PostgreSQL database migrated by the real migrator, and a live API.

Tests need the machine's PostgreSQL (``AUTHSTACK_TEST_POSTGRES``, default the local server on
127.0.0.1:5432). If it cannot be reached the tests fail; they never skip.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.types.json import Jsonb

from authstack_core.crypto.codes import new_project_key, sha256_bytes
from authstack_core.models.config import NEW_PROJECT_OVERRIDE
from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed

ADMIN_URL = os.environ.get(
    "AUTHSTACK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# A fixed secret so that key ids are reproducible across runs.
SERVER_SECRET = "dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM"
INTERNAL_KEYS = {
    "publishable_client_key": "pck_test_internal_publishable_key_0123456789",
    "secret_server_key": "ssk_test_internal_secret_server_key_0123456789",
    "super_secret_admin_key": "sak_test_internal_super_secret_admin_key_012345",
}
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-123"
# The machine's Redis; this session's queues live under their own namespace (deleted at the end).
TEST_REDIS_URL = os.environ.get("AUTHSTACK_TEST_REDIS", "redis://127.0.0.1:6379/0")
QUEUE_NAMESPACE = f"authstack_test_{secrets.token_hex(4)}"
CRON_SECRET = "test-cron-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _db_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new, empty database for this test session, dropped afterwards."""
    name = f"authstack_test_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def settings_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment a service under test runs with (Stack Auth's variable names)."""
    return {
        "STACK_DATABASE_CONNECTION_STRING": database_url,
        "STACK_SERVER_SECRET": SERVER_SECRET,
        "NEXT_PUBLIC_STACK_API_URL": "http://localhost:8102",
        "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": INTERNAL_KEYS[
            "publishable_client_key"
        ],
        "STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY": INTERNAL_KEYS["secret_server_key"],
        "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY": INTERNAL_KEYS[
            "super_secret_admin_key"
        ],
        "STACK_SEED_INTERNAL_PROJECT_USER_EMAIL": ADMIN_EMAIL,
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD": ADMIN_PASSWORD,
        "STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS": "true",
        "STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED": "true",
        "STACK_SEED_INTERNAL_PROJECT_ALLOW_LOCALHOST": "true",
        "STACK_LOG_FORMAT": "json",
        "STACK_LOG_LEVEL": "warning",
        "STACK_REDIS_URL": TEST_REDIS_URL,
        "STACK_QUEUE_NAMESPACE": QUEUE_NAMESPACE,
        "CRON_SECRET": CRON_SECRET,
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def _forget_queued_wakeups() -> Iterator[None]:
    """The API enqueues email wake-ups; drop this session's leftovers from the shared Redis."""
    yield
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{QUEUE_NAMESPACE}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # no Redis, nothing was queued there
    finally:
        client.close()


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    """The session database after the real migrator and seed have run."""
    migrate(database_url)
    env = settings_env(database_url)
    seed(Settings(**env))  # type: ignore[arg-type]
    return database_url


@dataclass
class ApiServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def start_api(database_url: str, **extra_env: str) -> ApiServer:
    """Start ``python -m authstack_api`` on a free port and wait until it answers."""
    port = free_port()
    env = {
        **os.environ,
        **settings_env(database_url, **extra_env),
        "STACK_API_PORT": str(port),
        "STACK_API_HOST": "127.0.0.1",
    }
    process = subprocess.Popen([sys.executable, "-m", "authstack_api"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return ApiServer(url, database_url, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("API did not start within 30 s")


def stop_api(server: ApiServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def api(migrated_database: str) -> Iterator[ApiServer]:
    server = start_api(migrated_database)
    try:
        yield server
    finally:
        stop_api(server)


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client


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


def create_project(database_url: str, config: dict[str, Any] | None = None) -> Project:
    """Insert a project, its tenancy and one key set, as the project-creation endpoint will."""
    project_id = str(uuid.uuid4())
    tenancy_id = str(uuid.uuid4())
    keys = {
        "pck": new_project_key("pck"),
        "ssk": new_project_key("ssk"),
        "sak": new_project_key("sak"),
    }
    override = {**NEW_PROJECT_OVERRIDE, "domains.allowLocalhost": True, **(config or {})}
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO projects (id, display_name, config_override, owner_team_id) "
            "VALUES (%s, %s, %s, 'a23e1b7f-ab18-41fc-9ee6-7a9ca9fa543c')",
            (project_id, f"Test project {project_id[:8]}", Jsonb(override)),
        )
        conn.execute(
            "INSERT INTO tenancies (id, project_id, branch_id) VALUES (%s, %s, 'main')",
            (tenancy_id, project_id),
        )
        conn.execute(
            "INSERT INTO api_key_sets (project_id, id, publishable_client_key_hash, "
            "secret_server_key_hash, super_secret_admin_key_hash) VALUES (%s, %s, %s, %s, %s)",
            (
                project_id,
                uuid.uuid4(),
                sha256_bytes(keys["pck"]),
                sha256_bytes(keys["ssk"]),
                sha256_bytes(keys["sak"]),
            ),
        )
    return Project(project_id, tenancy_id, keys["pck"], keys["ssk"], keys["sak"])


@pytest.fixture
def project(migrated_database: str) -> Project:
    """A fresh project (password sign-in on, sign-up on, localhost redirects allowed)."""
    return create_project(migrated_database)


@pytest.fixture
def make_project(migrated_database: str) -> Any:
    def make(config: dict[str, Any] | None = None) -> Project:
        return create_project(migrated_database, config)

    return make


@pytest.fixture(scope="session")
def internal() -> Project:
    return Project(
        "internal",
        "",
        INTERNAL_KEYS["publishable_client_key"],
        INTERNAL_KEYS["secret_server_key"],
        INTERNAL_KEYS["super_secret_admin_key"],
    )


# The email fixtures (mail sink, worker, Redis, TLS), defined once for every test package: a
# session fixture imported into two modules would start two workers on the same queue.
from tests.mail import (  # noqa: E402
    drill_database,
    mail_sink,
    mail_worker,
    make_sink,
    private_redis,
    session_redis,
    tls_files,
)

__all__ = [
    "drill_database",
    "mail_sink",
    "mail_worker",
    "make_sink",
    "private_redis",
    "session_redis",
    "tls_files",
]
