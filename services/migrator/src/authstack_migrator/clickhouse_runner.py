"""Apply the numbered ClickHouse files after PostgreSQL's, with the same discipline: one migrator
at a time, a ledger of what ran with its checksum, and a refusal when an applied file was edited.

ClickHouse has no transactions: each file's statements run one by one and must be safe to re-run
(``IF NOT EXISTS``, ``OR REPLACE``); a file that fails midway is not recorded and runs again from
its first statement next time. The ledger is ``analytics_internal.schema_migrations``.

One migrator at a time: against a server, the PostgreSQL advisory lock below (every migrator
reaches the same PostgreSQL); an embedded folder is locked by opening it (``analytics.store``).

A file whose header says ``-- migrate: server-only`` manages users, row policies and grants, which
the embedded engine refuses; on an embedded store it is recorded without running (isolation there
comes from the query sandbox instead, see ``authstack_core.analytics.sandbox``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import psycopg
import structlog

from authstack_core.analytics.store import open_client
from authstack_core.settings import Settings
from authstack_migrator.runner import MigrationError, split_statements

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = structlog.get_logger(__name__)

ADVISORY_LOCK_KEY = 0x5AC4_C11C  # not the PostgreSQL runner's: the two may nest
LOCK_POLL_SECONDS = 0.2
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SERVER_ONLY = "-- migrate: server-only"
LIMITED_USER = "limited_user"

CREATE_LEDGER = (
    "CREATE DATABASE IF NOT EXISTS analytics_internal",
    """CREATE TABLE IF NOT EXISTS analytics_internal.schema_migrations (
        version UInt32, name String, checksum String, ran UInt8,
        applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = MergeTree ORDER BY version""",
)
SELECT_APPLIED = "SELECT version, name, checksum FROM analytics_internal.schema_migrations"
# The password is a query parameter: it never appears in the statement text or the query log.
CREATE_LIMITED_USER = (
    f"CREATE USER IF NOT EXISTS {LIMITED_USER} IDENTIFIED WITH sha256_password BY {{pw:String}}"
)
SET_LIMITED_PASSWORD = f"ALTER USER {LIMITED_USER} IDENTIFIED WITH sha256_password BY {{pw:String}}"


@dataclass(frozen=True, slots=True)
class ClickHouseMigration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"clickhouse/{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def server_only(self) -> bool:
        return any(line.strip() == SERVER_ONLY for line in _header(self.sql))

    def statements(self) -> list[str]:
        return split_statements(self.sql)


def _header(sql: str) -> Iterator[str]:
    for line in sql.splitlines():
        if line.strip() and not line.strip().startswith("--"):
            return
        yield line


def load_clickhouse_migrations() -> list[ClickHouseMigration]:
    out = []
    for entry in resources.files("authstack_migrator.clickhouse").iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append(
                ClickHouseMigration(int(match.group(1)), match.group(2), entry.read_text("utf-8"))
            )
    out.sort(key=lambda m: m.version)
    if [m.version for m in out] != list(range(1, len(out) + 1)):
        raise MigrationError(f"ClickHouse migrations must be numbered 1..n: {out}")
    return out


def migrate_clickhouse(
    settings: Settings, migrations: list[ClickHouseMigration] | None = None
) -> list[ClickHouseMigration]:
    """Apply what is pending to the configured store and return it (nothing when disabled).

    Raise MigrationError when an applied file was edited or the store knows newer versions, and
    ``analytics.store.StoreUnavailableError`` when the store cannot be reached or is open elsewhere.
    """
    if settings.clickhouse_store == "disabled":
        log.info("ClickHouse migrations skipped: STACK_CLICKHOUSE_URL=disabled")
        return []
    migrations = load_clickhouse_migrations() if migrations is None else migrations
    server = settings.clickhouse_store == "server"
    with _one_migrator(settings.database_url if server else None):
        client, lock = open_client(settings)
        try:
            return _apply(client, migrations, settings, server=server)
        finally:
            client.close()
            if lock is not None:
                lock.release()


def _apply(
    client: Client, migrations: list[ClickHouseMigration], settings: Settings, *, server: bool
) -> list[ClickHouseMigration]:
    for statement in CREATE_LEDGER:
        client.command(statement)
    applied = {row[0]: (row[1], row[2]) for row in client.query(SELECT_APPLIED).result_rows}
    unknown = sorted(set(applied) - {m.version for m in migrations})
    if unknown:
        raise MigrationError(
            f"the ClickHouse store has migrations this release does not know: {unknown}; "
            "it was migrated by a newer version"
        )
    if server:
        # Before the files: 0004's policies and grants name this user. Its password follows
        # STACK_CLICKHOUSE_EXTERNAL_PASSWORD on every run, so rotating it is a redeploy.
        params = {"pw": settings.clickhouse_external_password}
        client.command(CREATE_LIMITED_USER, parameters=params)
        client.command(SET_LIMITED_PASSWORD, parameters=params)
    done = []
    for migration in migrations:
        if migration.version in applied:
            name, checksum = applied[migration.version]
            if checksum != migration.checksum:
                raise MigrationError(
                    f"ClickHouse migration {migration.version:04d}_{name}.sql was edited after"
                    " it was applied; add a new migration instead of changing an applied one"
                )
            continue
        ran = server or not migration.server_only
        if ran:
            for statement in migration.statements():
                client.command(statement)
        client.insert(
            "analytics_internal.schema_migrations",
            [[migration.version, migration.name, migration.checksum, int(ran)]],
            column_names=["version", "name", "checksum", "ran"],
        )
        log.info(
            "ClickHouse migration applied", version=migration.version, name=migration.name, ran=ran
        )
        done.append(migration)
    if not done:
        log.info("ClickHouse schema is up to date", versions=len(migrations))
    return done


@contextlib.contextmanager
def _one_migrator(database_url: str | None) -> Iterator[None]:
    """Against a server, hold a PostgreSQL advisory lock (polled, as the PostgreSQL runner's)."""
    if database_url is None:
        yield
        return
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
            if row is not None and row[0]:
                break
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
