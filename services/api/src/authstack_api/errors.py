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
from authstack_core.errors import BodyParsingError, KnownError, PlainError, SchemaError
from authstack_core.ratelimit_rules import RateLimitedError

log = structlog.get_logger("authstack_api.errors")

INTERNAL_ERROR_TEXT = (
    "Something went wrong. Please make sure the data you entered is correct.\n\nRequest ID: {}"
)


def known_error_response(error: KnownError) -> Response[bytes]:
    return Response(
        error_json_body(error.body()),
        status_code=error.status,
        media_type=JSON_TYPE,
        headers={"x-stack-known-error": error.code},
    )


def _validation_message(request: Request[Any, Any, Any], exc: ValidationException) -> str:
    lines = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            message = str(item.get("message", "invalid"))
            if message in (f"'{key}'", "'data'"):
                message = "a request body is required" if key == "data" else f"{key} is required"
            source = item.get("source")
            where = f"{source}.{key}" if source and key and key != "data" else (key or "body")
            lines.append(f"  - {where}: {message}")
    if not lines:
        lines.append(f"  - {exc.detail}")
    return f"Request validation failed on {request.method} {request.url.path}:\n" + "\n".join(lines)


def rate_limited_response(exc: RateLimitedError) -> Response[bytes]:
    """429 without a known-error code: the SDK then waits ``Retry-After`` seconds and retries
    (a known error would be thrown to the app at once)."""
    return Response(
        f"Too many requests. Try again in {exc.retry_after} seconds.".encode(),
        status_code=429,
        media_type="text/plain",
        headers={"retry-after": str(exc.retry_after)},
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, RateLimitedError):
        return rate_limited_response(exc)
    if isinstance(exc, KnownError):
        return known_error_response(exc)
    if isinstance(exc, PlainError):  # StatusError included
        return text_response(exc.text, exc.status)
    if isinstance(exc, ValidationException):
        return known_error_response(SchemaError(message=_validation_message(request, exc)))
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
    request_id = request_id_var.get()
    log.exception("unhandled error", request_id=request_id, path=request.url.path)
    return text_response(INTERNAL_ERROR_TEXT.format(request_id), 500)
