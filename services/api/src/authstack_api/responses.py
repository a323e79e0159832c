"""Response helpers producing the contract's exact content types and bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Response
from msgspec import UNSET, UnsetType

JSON_TYPE = "application/json; charset=utf-8"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        msgspec.json.encode(data), status_code=status, media_type=JSON_TYPE, headers=headers
    )


def list_response(
    items: Iterable[Any], *, next_cursor: str | None | UnsetType = UNSET
) -> Response[bytes]:
    """The contract's list answer, paginated when ``next_cursor`` is given (None: the last page)."""
    body: dict[str, Any] = {"items": list(items), "is_paginated": next_cursor is not UNSET}
    if next_cursor is not UNSET:
        body["pagination"] = {"next_cursor": next_cursor}
    return json_response(body)


def error_json_body(body: dict[str, Any]) -> bytes:
    # Known-error bodies are indented by two spaces, as upstream sends them.
    return json.dumps(body, indent=2).encode("utf-8")


def text_response(text: str, status: int = 200) -> Response[bytes]:
    return Response(text.encode("utf-8"), status_code=status, media_type="text/plain")


SUCCESS: dict[str, bool] = {"success": True}
