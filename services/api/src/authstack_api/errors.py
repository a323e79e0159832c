"""Turn every exception into the contract's wire format; nothing internal leaks."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    SerializationException,
    ValidationException,
)

from authstack_api.middleware import request_id_var
from authstack_api.responses import JSON_TYPE, error_json_body, text_response
from authstack_api.validation import schema_error
from authstack_core.db.pool import database_unavailable
from authstack_core.errors import BodyParsingError, KnownError, PlainError, SchemaError
from authstack_core.observability import series
from authstack_core.ratelimit_rules import RateLimitedError

log = structlog.get_logger("authstack_api.errors")

INTERNAL_ERROR_TEXT = (
    "Something went wrong. Please make sure the data you entered is correct.\n\nRequest ID: {}"
)
# While the database cannot be reached: how long clients are asked to wait before trying again.
DATABASE_RETRY_AFTER_S = 2
DATABASE_UNAVAILABLE_TEXT = (
    "The service is temporarily unavailable: its database did not answer in time."
    " Try again in {} seconds."
)


def known_error_response(error: KnownError) -> Response[bytes]:
    return Response(
        error_json_body(error.body()),
        status_code=error.status,
        media_type=JSON_TYPE,
        headers={"x-stack-known-error": error.code},
    )


def rate_limited_response(exc: RateLimitedError) -> Response[bytes]:
    """429 without a known-error code: the SDK then waits ``Retry-After`` seconds and retries
    (a known error would be thrown to the app at once)."""
    return Response(
        f"Too many requests. Try again in {exc.retry_after} seconds.".encode(),
        status_code=429,
        media_type="text/plain",
        headers={"retry-after": str(exc.retry_after)},
    )


def database_unavailable_response() -> Response[bytes]:
    """503 with ``Retry-After``, a plain text as the contract's other errors: the database is
    unreachable (or every connection stayed busy for the pool's whole wait)."""
    return Response(
        DATABASE_UNAVAILABLE_TEXT.format(DATABASE_RETRY_AFTER_S).encode(),
        status_code=503,
        media_type="text/plain",
        headers={"retry-after": str(DATABASE_RETRY_AFTER_S)},
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, RateLimitedError):
        series.rate_limited(exc.rule)
        return rate_limited_response(exc)
    if isinstance(exc, SchemaError | ValidationException):
        return known_error_response(schema_error(request, exc))
    if isinstance(exc, KnownError):
        return known_error_response(exc)
    if isinstance(exc, PlainError):  # StatusError included
        return text_response(exc.text, exc.status)
    if isinstance(exc, NotFoundException):
        return text_response("404 — this API endpoint does not exist.", 404)
    # Litestar wraps every body decode failure ("JSON is malformed", "Input data was truncated")
    # in a ClientException whose cause is the SerializationException.
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        return known_error_response(
            BodyParsingError(f"Could not parse the request body: {exc.detail}")
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return text_response(str(exc.detail), exc.status_code)
    if database_unavailable(exc):
        log.warning("database unavailable", error=type(exc).__name__, path=request.url.path)
        return database_unavailable_response()
    request_id = request_id_var.get()
    log.exception("unhandled error", request_id=request_id, path=request.url.path)
    return text_response(INTERNAL_ERROR_TEXT.format(request_id), 500)
