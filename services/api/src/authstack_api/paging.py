"""The query parameters paged listings share, taken as one dependency.

Litestar fills a ``PageQuery`` from the query string (checking only the types, as for any
parameter) before the handler authenticates; the handler checks the values afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypedDict

from litestar.di import Provide
from litestar.params import Parameter

from authstack_api.ids import check_uuid, parse_bool
from authstack_core.errors import SchemaError

MAX_QUERY_LENGTH = 256


@dataclass(frozen=True, slots=True)
class PageQuery:
    limit: int | None = None
    cursor: str | None = None

    def checked_cursor(self) -> str | None:
        return check_uuid(self.cursor, "cursor") if self.cursor is not None else None


class SearchArgs(TypedDict):
    """A checked page of a searched listing, as the domain's listings take it."""

    limit: int | None
    query: str | None
    desc: bool
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchQuery(PageQuery):
    """A page of a listing searched by ``query`` and sorted by one key (``desc=true``: down)."""

    order_by: str | None = None
    desc: str | None = None
    # Litestar reserves the argument name `query`, so the search text goes by another.
    text: Annotated[str | None, Parameter(query="query")] = None

    def checked(self, *, order_by: str, max_page: int) -> SearchArgs:
        """The page, checked in this order: ``order_by`` (the one key the listing sorts by),
        ``limit`` (1 to ``max_page``), ``query``, ``desc``, ``cursor``."""
        if self.order_by not in (None, order_by):
            raise SchemaError(message=f"order_by must be one of the following values: {order_by}")
        if self.limit is not None and not 1 <= self.limit <= max_page:
            raise SchemaError(message=f"limit must be between 1 and {max_page}")
        if self.text is not None and len(self.text) > MAX_QUERY_LENGTH:
            # "query" alone would read as the whole query string: located here, not by name.
            raise SchemaError(message=f"query.query must be at most {MAX_QUERY_LENGTH} characters")
        return {
            "limit": self.limit,
            "query": self.text or None,
            "desc": parse_bool(self.desc, "desc"),
            "cursor": self.checked_cursor(),
        }


def page_size(value: str | None, default: int, most: int) -> int:
    """A ``limit`` query value taken as text: ``default`` when absent, else a whole number from 1
    to ``most`` (SCHEMA_ERROR otherwise)."""
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise SchemaError(message=f"limit must be an integer from 1 to {most}")
    return int(value)


# A handler takes ``page: PageQuery`` (or ``SearchQuery``) and declares the matching provider.
PAGE = {"page": Provide(PageQuery, sync_to_thread=False)}
SEARCH_PAGE = {"page": Provide(SearchQuery, sync_to_thread=False)}
