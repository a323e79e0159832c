"""Limits every request input meets before a handler sees it: bounded JSON nesting, no NUL.

PostgreSQL text and jsonb cannot hold U+0000, so a NUL that reached a query was a 500; it is
refused here as a SCHEMA_ERROR instead, for JSON bodies, query strings and path parameters.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from authstack_core.errors import BodyParsingError, KnownError, SchemaError

# Deep enough for any real metadata document, far below the recursion limits of the decoders
# and encoders a value passes through (msgspec, json, psycopg's Jsonb, PostgreSQL's jsonb).
MAX_JSON_DEPTH = 64


# Where ``ApiRequest.json`` leaves the body it read, for the SCHEMA_ERROR text (``validation``).
_BODY_STATE = "authstack_parsed_body"


def _nul_error(where: str) -> KnownError:
    return SchemaError(message=f"{where} must not contain NUL (\\u0000) characters")


def parsed_body(request: Request[Any, Any, Any]) -> Any:
    """The JSON body this request's validation read, or None if none was read."""
    return request.state.get(_BODY_STATE)


def check_json_value(value: Any) -> None:
    """Raise BODY_PARSING_ERROR past MAX_JSON_DEPTH levels, SCHEMA_ERROR for a NUL anywhere."""
    # Iterative, so a hostile document cannot exhaust the stack while being checked.
    stack: list[tuple[Any, int, str]] = [(value, 0, "body")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise _nul_error(where)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BodyParsingError(
                    f"The request body is nested deeper than {MAX_JSON_DEPTH} levels."
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and "\x00" in key:
                        raise _nul_error(where)
                    stack.append((child, depth + 1, f"{where}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(item))


def check_url_values(request: Request[Any, Any, Any]) -> None:
    """Raise SCHEMA_ERROR if a query or path parameter holds a NUL."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _nul_error(f"query.{name}")
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _nul_error(f"params.{name}")


class ApiRequest(Request[Any, Any, Any]):
    """Litestar's request whose JSON body is refused cleanly when it is not plain, bounded JSON."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except UnicodeDecodeError:
            raise BodyParsingError("The request body is not valid UTF-8.") from None
        except RecursionError:
            raise BodyParsingError(
                f"The request body is nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        check_json_value(value)
        self.state[_BODY_STATE] = value
        return value
