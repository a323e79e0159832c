"""Apply numbered SQL files in order, each in its own transaction, under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
import structlog

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every migrator run against this database.
ADVISORY_LOCK_KEY = 0x5AC4_A117
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_APPLIED = (
    "INSERT INTO schema_migrations (version, name, checksum) "
    "VALUES (%(version)s, %(name)s, %(checksum)s)"
)


class MigrationError(Exception):
    """The database's migration history disagrees with the files shipped in this release."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations() -> list[Migration]:
    """The migration files shipped in the package, in version order."""
    out = []
    for entry in resources.files("authstack_migrator.postgres").iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return out


def migrate(database_url: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is pending and return it; raise MigrationError if an applied file was edited."""
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Session-level lock: concurrent migrators (several replicas starting) wait their turn.
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            conn.execute(CREATE_LEDGER)
            applied = {row[0]: (row[1], row[2]) for row in conn.execute(SELECT_APPLIED)}
            known = {m.version for m in migrations}
            unknown = sorted(set(applied) - known)
            if unknown:
                raise MigrationError(
                    f"the database has migrations this release does not know: {unknown}; "
                    "it was migrated by a newer version"
                )
            for migration in migrations:
                if migration.version in applied:
                    name, checksum = applied[migration.version]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{name}.sql was edited after it was "
                            "applied; add a new migration instead of changing an applied one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(
                        migration.sql
                    )  # trusted file; no params, so several statements are allowed
                    conn.execute(
                        INSERT_APPLIED,
                        {
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        },
                    )
                log.info("migration applied", version=migration.version, name=migration.name)
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    if not applied_now:
        log.info("database schema is up to date", versions=len(migrations))
    return applied_now
