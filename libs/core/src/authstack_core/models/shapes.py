"""What every wire shape shares: who it is for, how it writes a time, how a listing pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar

# Who reads a shape: a client sees the client shape; servers and admins see the server one
# (the contract has no admin-only fields on users, teams or channels).
Audience = Literal["client", "server", "admin"]


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class _Identified(Protocol):
    @property
    def id(self) -> object: ...


RowT = TypeVar("RowT", bound=_Identified)


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """One page of a listing; ``next_cursor`` is the id of the next page's first row (a cursor
    is inclusive), None on the last page."""

    items: list[RowT]
    next_cursor: str | None

    @classmethod
    def cut(cls, rows: list[RowT], limit: int | None) -> Page[RowT]:
        """The page of ``rows`` fetched with one more than ``limit``: that one starts the next."""
        if limit is None or len(rows) <= limit:
            return cls(rows, None)
        return cls(rows[:limit], str(rows[limit].id))
