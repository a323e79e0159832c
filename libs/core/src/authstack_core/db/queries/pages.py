"""Keyset pages shared by the listings (users, teams, the email outbox) and their search pattern."""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString, TypeVar

from psycopg import AsyncConnection, sql

from authstack_core.db.queries.run import fetch_all

R = TypeVar("R")

# The cursor is the first row of the page (inclusive); a listing without one starts at the top.
# ``limit`` may be NULL: LIMIT NULL is no limit.
_FROM_CURSOR = sql.SQL("""  AND (%(cursor_at)s::timestamptz IS NULL
       OR ({at}, {id}) {op} (%(cursor_at)s::timestamptz, %(cursor_id)s::uuid))
ORDER BY {at} {direction}, {id} {direction}
LIMIT %(limit)s""")


class Keyset:
    """One listing's statement in both directions: ``head`` (its SELECT and every condition but the
    cursor's) followed by the cursor's condition, the order by (``at``, ``row_id``) and the limit.
    The id breaks ties between rows of the same timestamp, so a page boundary is never ambiguous."""

    def __init__(self, head: LiteralString, at: sql.Identifier, row_id: sql.Identifier) -> None:
        self._statements = {
            desc: sql.SQL(head)
            + _FROM_CURSOR.format(
                at=at,
                id=row_id,
                op=sql.SQL("<=" if desc else ">="),
                direction=sql.SQL("DESC" if desc else "ASC"),
            )
            for desc in (False, True)
        }

    async def fetch(
        self,
        conn: AsyncConnection[Any],
        row_type: type[R],
        *,
        desc: bool,
        cursor: tuple[datetime, str] | None,
        limit: int | None,
        **params: Any,
    ) -> list[R]:
        """Up to ``limit`` rows (None: all) from ``cursor`` (the first row's timestamp and id),
        newest first if ``desc``; ``params`` are the head's own parameters."""
        cursor_at, cursor_id = cursor if cursor else (None, None)
        return await fetch_all(
            conn,
            row_type,
            self._statements[desc],
            cursor_at=cursor_at,
            cursor_id=cursor_id,
            limit=limit,
            **params,
        )


def contains_pattern(text: str | None) -> str | None:
    """The ILIKE pattern of values containing ``text`` as typed (its wildcards and backslashes
    escaped), or None for no text."""
    if text is None:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
