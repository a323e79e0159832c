"""Cursor pages of a listing, and walking every page of one (sync and async)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``next_cursor`` (None on the last page) asks for the next one: pass
    it as ``cursor`` to the same listing, or let an ``iter_*`` method walk the pages."""

    items: Sequence[T]
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def reader(cls, item: Callable[[Any], T]) -> Callable[[Any], Page[T]]:
        """Reads a list answer ``{items, is_paginated, pagination: {next_cursor}}``."""

        def read(data: Any) -> Page[T]:
            pagination = data.get("pagination") or {}
            return cls(
                items=[item(entry) for entry in data["items"]],
                next_cursor=pagination.get("next_cursor"),
            )

        return read


def items_reader(item: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """Reads a list answer that is never paginated, as a plain list."""

    def read(data: Any) -> list[T]:
        return [item(entry) for entry in data["items"]]

    return read


def walk(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a listing, fetching page after page (``fetch(cursor)``) as they are used."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None or page.next_cursor == cursor or not page.items:
            return
        cursor = page.next_cursor


async def awalk(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    """The async twin of :func:`walk`."""
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None or page.next_cursor == cursor or not page.items:
            return
        cursor = page.next_cursor
