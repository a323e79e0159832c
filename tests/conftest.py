"""Shared fixtures: a fresh PostgreSQL database migrated by the real migrator, and a live API.

Tests need the machine's PostgreSQL (``AUTHSTACK_TEST_POSTGRES``, default the local server on
127.0.0.1:5432). If it cannot be reached the tests fail; they never skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import INTERNAL_PROJECT_ID, seed
from tests.factories import (
    Project,
    create_project,
    free_port,
    fresh_database,
    stop_process,
    wait_healthy,
)

# A fixed secret so that key ids are reproducible across runs.
SERVER_SECRET = "dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM"
INTERNAL_KEYS = {
    "publishable_client_key": "pck_test_internal_publishable_key_0123456789",
    "secret_server_key": "ssk_test_internal_secret_server_key_0123456789",
    "super_secret_admin_key": "sak_test_internal_super_secret_admin_key_012345",
}
# The email fixtures (mail sink, worker, Redis, TLS), the OAuth tests' servers and Chromium, and
# the S3 server (SeaweedFS), registered once for every test package.
pytest_plugins = ["tests.mail_fixtures", "tests.oauth.servers", "tests.storage_fixtures"]

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-123"
# The machine's Redis; this session's queues live under their own namespace (deleted at the end).
TEST_REDIS_URL = os.environ.get("AUTHSTACK_TEST_REDIS", "redis://127.0.0.1:6379/0")
QUEUE_NAMESPACE = f"authstack_test_{secrets.token_hex(4)}"
CRON_SECRET = "test-cron-secret-0123456789"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new, empty database for this test session, dropped afterwards."""
    with fresh_database("authstack_test") as url:
        yield url


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
        # An embedded store belongs to one process: services under test get none unless asked
        # (``migrated_clickhouse``); the session API has one.
        "STACK_CLICKHOUSE_URL": "disabled",
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


NPM_CI_TIMEOUT_S = 600


def ensure_node_modules(folder: Path, installed: Callable[[], bool], purpose: str) -> None:
    """Fail unless ``node`` is on PATH and ``installed()`` holds, running ``npm ci`` in ``folder``
    once when it does not (what ``make install`` does)."""
    if shutil.which("node") is None:
        pytest.fail(f"`node` (>= 20.14) is required for {purpose}; install Node.js")
    if installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"{folder}/node_modules is missing or stale and `npm` is not installed")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"`npm ci` in {folder} failed:\n{done.stdout}\n{done.stderr}")
    if not installed():
        pytest.fail(f"after `npm ci` in {folder}, the pinned packages are still not installed")


@dataclass
class ApiServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def start_api(database_url: str, *, port: int | None = None, **extra_env: str) -> ApiServer:
    """Start ``python -m authstack_api`` on ``port`` (a free one by default) and wait until it
    answers."""
    port = port or free_port()
    env = {
        **os.environ,
        **settings_env(database_url, **extra_env),
        "STACK_API_PORT": str(port),
        "STACK_API_HOST": "127.0.0.1",
    }
    process = subprocess.Popen([sys.executable, "-m", "authstack_api"], env=env)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, f"{url}/health", "API")
    return ApiServer(url, database_url, process)


def stop_api(server: ApiServer) -> None:
    stop_process(server.process)


@contextmanager
def running_api(database_url: str, **extra_env: str) -> Iterator[ApiServer]:
    """An API of its own (``start_api``) for the ``with`` block, stopped after it."""
    server = start_api(database_url, **extra_env)
    try:
        yield server
    finally:
        stop_api(server)


CLICKHOUSE_MIGRATE_TIMEOUT_S = 120


def migrated_clickhouse(folder: Path, database_url: str) -> str:
    """A new embedded ClickHouse store in ``folder``, migrated by the real migrator (in a process
    of its own: a store is open in one process at a time); its STACK_CLICKHOUSE_URL."""
    url = f"chdb://{folder}"
    done = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "clickhouse"],
        env={**os.environ, **settings_env(database_url, STACK_CLICKHOUSE_URL=url)},
        capture_output=True,
        text=True,
        timeout=CLICKHOUSE_MIGRATE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"ClickHouse migrations failed:\n{done.stdout}\n{done.stderr}"
    return url


@pytest.fixture(scope="session")
def api(
    migrated_database: str, tmp_path_factory: pytest.TempPathFactory, s3_env: dict[str, str]
) -> Iterator[ApiServer]:
    """The session's API, owning an embedded ClickHouse store (analytics on, as in ``make dev``)."""
    store = migrated_clickhouse(tmp_path_factory.mktemp("clickhouse") / "store", migrated_database)
    with running_api(migrated_database, STACK_CLICKHOUSE_URL=store, **s3_env) as server:
        yield server


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client


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
        INTERNAL_PROJECT_ID,
        "",
        INTERNAL_KEYS["publishable_client_key"],
        INTERNAL_KEYS["secret_server_key"],
        INTERNAL_KEYS["super_secret_admin_key"],
    )
