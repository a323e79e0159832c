"""Apply numbered SQL files in order under an advisory lock, each with lock and statement limits.

A file runs in its own transaction unless its header says otherwise. Header lines are the leading
``--`` comments; the ones the runner reads start with ``-- migrate:``::

    -- migrate: no-transaction          statements run one by one in autocommit (CREATE INDEX
                                         CONCURRENTLY needs this); the file must be safe to re-run
    -- migrate: statement_timeout=30min  this file's statements may run that long
    -- migrate: lock_timeout=1min        and wait that long for a lock

A no-transaction file that fails midway (an error, a crash, a timeout) is not recorded, so the next
run starts it again from its first statement. Hence every statement in it must be idempotent
(``IF NOT EXISTS``), and ``CREATE INDEX CONCURRENTLY`` must say ``IF NOT EXISTS``: the runner
refuses the file otherwise. A failed concurrent build leaves an INVALID index of that name
behind, which ``IF NOT EXISTS`` would silently keep; the runner drops such an index before
building it again.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
import structlog
from psycopg import sql

from authstack_core.settings import (
    MIGRATION_LOCK_TIMEOUT,
    MIGRATION_STATEMENT_TIMEOUT,
    POSTGRES_DURATION,
)

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every migrator run against this database.
ADVISORY_LOCK_KEY = 0x5AC4_A117
# How often a migrator waiting for another one retries the advisory lock (see _take_lock).
LOCK_POLL_SECONDS = 0.2
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DIRECTIVE = re.compile(r"^--\s*migrate:\s*(.*)$")
_DURATION = re.compile(POSTGRES_DURATION)
_CONCURRENT_INDEX = re.compile(
    r"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(IF\s+NOT\s+EXISTS\s+)?"
    r"(?!ON\s)((?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))?)",
    re.IGNORECASE,
)

# Deliberate rewrites of applied files: version -> checksums of earlier texts that the current
# file replaces. A database that applied one of those is up to date for that version (the ledger
# keeps the checksum of what actually ran). Add an entry only when the new text leaves such a
# database unchanged, i.e. it is a no-op there, and say why.
ACCEPTED_REWRITES: dict[int, frozenset[str]] = {
    # 0004 first built its GIN indexes with plain CREATE INDEX, which blocks writes to users and
    # contact_channels for the whole build; it now builds them CONCURRENTLY IF NOT EXISTS, which
    # does nothing where the indexes already exist.
    4: frozenset({"c160153caf902377b968af02c7e4f669e65f3c6f6c71c9e39f508f9f73afcbf9"}),
}

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
# is_local=true is SET LOCAL: the limit ends with the migration's transaction.
SET_LOCAL = "SELECT set_config(%(name)s, %(value)s, true)"
SET_SESSION = "SELECT set_config(%(name)s, %(value)s, false)"
INDEX_IS_VALID = (
    "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%(name)s)::oid"
)


class MigrationError(Exception):
    """The database's migration history disagrees with the files shipped in this release."""


class MigrationTimeoutError(MigrationError):
    """A migration waited too long for a lock or ran past its statement limit; nothing recorded."""


@dataclass(frozen=True, slots=True)
class Options:
    """What a file's ``-- migrate:`` header lines ask for."""

    transactional: bool = True
    lock_timeout: str | None = None
    statement_timeout: str | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def options(self) -> Options:
        """The header's directives; raise MigrationError for one the runner does not know."""
        transactional = True
        timeouts: dict[str, str] = {}
        for raw in self.sql.splitlines():
            line = raw.strip()
            if not line:
                continue
            if not line.startswith("--"):
                break  # the header ends at the first statement
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            for word in match.group(1).replace(",", " ").split():
                key, _, value = word.partition("=")
                if word == "no-transaction":
                    transactional = False
                elif key in ("lock_timeout", "statement_timeout") and _DURATION.match(value):
                    timeouts[key] = value
                else:
                    raise MigrationError(
                        f"{self.label}: unknown or malformed directive {word!r} (known: "
                        "no-transaction, lock_timeout=<duration>, statement_timeout=<duration>)"
                    )
        return Options(
            transactional, timeouts.get("lock_timeout"), timeouts.get("statement_timeout")
        )

    def statements(self) -> list[str]:
        """The file's statements one by one (for no-transaction files), checked for re-runs."""
        out = split_statements(self.sql)
        for statement in out:
            match = _CONCURRENT_INDEX.match(_strip_leading_comments(statement))
            if match and not match.group(1):
                raise MigrationError(
                    f"{self.label}: CREATE INDEX CONCURRENTLY {match.group(2)} needs IF NOT "
                    "EXISTS, so that a run interrupted after it can be started again"
                )
        return out


def load_migrations() -> list[Migration]:
    """The migration files shipped in the package, in version order, with valid headers."""
    out = []
    for entry in resources.files("authstack_migrator.postgres").iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    for migration in out:
        if not migration.options.transactional:
            # Refuse a file that could not be re-run before touching anything.
            migration.statements()
    return out


def migrate(
    database_url: str,
    migrations: list[Migration] | None = None,
    *,
    lock_timeout: str = MIGRATION_LOCK_TIMEOUT,
    statement_timeout: str = MIGRATION_STATEMENT_TIMEOUT,
) -> list[Migration]:
    """Apply what is pending and return it.

    Raises MigrationError if an applied file was edited (and is not an accepted rewrite), and
    MigrationTimeoutError if a migration waited longer than its lock_timeout for a lock or ran
    longer than its statement_timeout; that migration is then not recorded (and, in a
    transaction, rolled back). Other database errors propagate as psycopg errors.
    """
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        _take_lock(conn)
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
                    if checksum != migration.checksum and checksum not in ACCEPTED_REWRITES.get(
                        migration.version, frozenset()
                    ):
                        raise MigrationError(
                            f"migration {migration.version:04d}_{name}.sql was edited after it was "
                            "applied; add a new migration instead of changing an applied one"
                        )
                    continue
                options = migration.options
                limits = {
                    "lock_timeout": options.lock_timeout or lock_timeout,
                    "statement_timeout": options.statement_timeout or statement_timeout,
                }
                try:
                    if options.transactional:
                        _apply_in_transaction(conn, migration, limits)
                    else:
                        _apply_without_transaction(conn, migration, limits)
                except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
                    raise _timeout(migration, limits, exc) from exc
                log.info(
                    "migration applied",
                    version=migration.version,
                    name=migration.name,
                    transactional=options.transactional,
                )
                applied_now.append(migration)
        finally:
            # A broken connection (the server ended the session) has already dropped the lock.
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    if not applied_now:
        log.info("database schema is up to date", versions=len(migrations))
    return applied_now


def _take_lock(conn: psycopg.Connection[Any]) -> None:
    """Wait for the session-level advisory lock: concurrent migrators take turns.

    Polled with pg_try_advisory_lock rather than blocking in pg_advisory_lock: a session blocked
    in a statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the migrator that holds the
    lock waits for every older snapshot to go away, so the two would wait for each other.
    """
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
        if row is not None and row[0]:
            return
        time.sleep(LOCK_POLL_SECONDS)


def _apply_in_transaction(
    conn: psycopg.Connection[Any], migration: Migration, limits: dict[str, str]
) -> None:
    with conn.transaction():
        for name, value in limits.items():
            conn.execute(SET_LOCAL, {"name": name, "value": value})
        conn.execute(migration.sql)  # trusted file; no params, so several statements are allowed
        _record(conn, migration)


def _apply_without_transaction(
    conn: psycopg.Connection[Any], migration: Migration, limits: dict[str, str]
) -> None:
    for name, value in limits.items():
        conn.execute(SET_SESSION, {"name": name, "value": value})
    try:
        for statement in migration.statements():
            match = _CONCURRENT_INDEX.match(_strip_leading_comments(statement))
            if match:
                _drop_if_invalid(conn, match.group(2))
            conn.execute(statement)
        _record(conn, migration)
    finally:
        if not conn.broken:
            for name in limits:
                conn.execute(sql.SQL("RESET {}").format(sql.Identifier(name)))


def _drop_if_invalid(conn: psycopg.Connection[Any], index: str) -> None:
    """Drop the INVALID leftover of an interrupted concurrent build, so it is built again."""
    row = conn.execute(INDEX_IS_VALID, {"name": index}).fetchone()
    if row is None or row[0]:
        return  # no such index, or a usable one that IF NOT EXISTS will keep
    parts = [p.strip('"') for p in re.findall(r'"[^"]+"|\w+', index)]
    log.warning("dropping an invalid index left by an interrupted build", index=index)
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(*parts)))


def _record(conn: psycopg.Connection[Any], migration: Migration) -> None:
    conn.execute(
        INSERT_APPLIED,
        {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
    )


def _timeout(
    migration: Migration, limits: dict[str, str], exc: psycopg.Error
) -> MigrationTimeoutError:
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        what = (
            f"waited longer than lock_timeout={limits['lock_timeout']} for a lock another "
            "session holds"
        )
    else:
        what = f"ran longer than statement_timeout={limits['statement_timeout']}"
    return MigrationTimeoutError(
        f"migration {migration.label} {what} and was not recorded; run the migrator again when "
        "the database is quieter, or raise the limit (STACK_MIGRATION_LOCK_TIMEOUT / "
        "STACK_MIGRATION_STATEMENT_TIMEOUT, or a `-- migrate:` header in the file)"
        f" ({type(exc).__name__}: {str(exc).strip()})"
    )


def _strip_leading_comments(statement: str) -> str:
    text = statement.lstrip()
    while text.startswith("--") or text.startswith("/*"):
        if text.startswith("--"):
            _, _, text = text.partition("\n")
        else:
            _, _, text = text.partition("*/")
        text = text.lstrip()
    return text


_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(text: str) -> list[str]:
    """Split SQL on top-level semicolons, honouring quotes, comments and dollar-quoted bodies.

    Pieces holding only comments or whitespace are dropped. Enough for migration files; it is not
    a full SQL lexer (it does not know standard_conforming_strings=off backslash escapes).
    """
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    meaningful = False
    while i < n:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if ch == "-" and nxt == "-":
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
            continue
        if ch == "/" and nxt == "*":
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        if ch == ";":
            if meaningful:
                out.append(text[start:i].strip())
            start, i, meaningful = i + 1, i + 1, False
            continue
        if not ch.isspace():
            meaningful = True
        if ch in ("'", '"'):
            escapes = ch == "'" and i > 0 and text[i - 1] in "eE"
            i += 1
            while i < n:
                if escapes and text[i] == "\\":
                    i += 2
                elif text[i] == ch:
                    if text.startswith(ch * 2, i):
                        i += 2  # a doubled quote stands for itself
                    else:
                        i += 1
                        break
                else:
                    i += 1
            continue
        if ch == "$" and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            tag = _DOLLAR_TAG.match(text, i)
            if tag:
                end = text.find(tag.group(0), tag.end())
                i = n if end == -1 else end + len(tag.group(0))
                continue
        i += 1
    if meaningful:
        out.append(text[start:].strip())
    return out
