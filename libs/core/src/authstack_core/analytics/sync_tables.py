"""Writes to ClickHouse's sync tables (``analytics_internal.<mapping>``, migrations 0002/0005).

Each table is a ReplacingMergeTree on ``sync_sequence_id`` ordered by the row's key: of the copies
of a row the public views (``FINAL``) keep the one with the highest number, and hide it when it is
a tombstone (``sync_is_deleted = 1``). So inserting a batch again changes nothing, and a batch
needs no transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from authstack_core.analytics.store import Store

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

DATABASE = "analytics_internal"
SELECT_COLUMNS = (
    "SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY position"
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SyncTableError(Exception):
    """ClickHouse refused a sync table's write (the message is its first line)."""


def _filler(type_name: str) -> Any:
    """What a NOT NULL column of this type gets where the source has nothing (a tombstone's
    non-key columns): the type's zero. Nullable columns get NULL."""
    inner = type_name.removeprefix("LowCardinality(").removesuffix(")")
    if inner.startswith("Nullable("):
        return None
    if inner.startswith(("String", "FixedString")):
        return ""
    if inner == "UUID":
        return uuid.UUID(int=0)
    if inner.startswith(("DateTime", "Date")):
        return EPOCH
    return 0  # the (U)Int and Float types


class SyncTables:
    """The sync tables of one store; their column types are read once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._types: dict[str, dict[str, str]] = {}

    async def insert(self, table: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
        """Insert ``rows`` (values in ``columns`` order; None where a column is NOT NULL becomes
        its type's zero). Raise StoreUnavailableError or SyncTableError."""

        def run() -> None:
            with self.store.session() as client:
                try:
                    self._write(client, table, columns, rows)
                except Exception as exc:
                    text = str(exc).strip()
                    first = text.splitlines()[0] if text else type(exc).__name__
                    raise SyncTableError(first[:300]) from exc

        await anyio.to_thread.run_sync(run)

    def _write(
        self, client: Client, table: str, columns: Sequence[str], rows: list[list[Any]]
    ) -> None:
        if not self._types:
            found: dict[str, dict[str, str]] = {}
            for name, column, type_name in client.query(
                SELECT_COLUMNS, parameters={"db": DATABASE}
            ).result_rows:
                found.setdefault(name, {})[column] = type_name
            self._types = found
        types = self._types.get(table)
        if types is None or not set(columns) <= set(types):
            self._types = {}  # read them again next time: the store may be migrated since
            missing = sorted(set(columns) - set(types or {}))
            raise SyncTableError(
                f"{DATABASE}.{table} lacks the columns {missing} (run the migrator)"
            )
        type_names = [types[c] for c in columns]
        fillers = [_filler(t) for t in type_names]
        data = [[f if v is None else v for v, f in zip(row, fillers, strict=True)] for row in rows]
        client.insert(
            f"{DATABASE}.{table}", data, column_names=list(columns), column_type_names=type_names
        )
