"""One structlog setup for structlog and stdlib records, with secrets redacted."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import msgspec
import structlog

from authstack_core.settings import DashboardSettings, Settings

REDACTED = "[redacted]"
# Any key naming one of these is treated as secret, whatever it holds.
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|authorization|cookie|api[_-]?key|client[_-]?key|"
    r"admin[_-]?key|server[_-]?key|(^|_)code$|^otp$|^nonce$|connection_string|database_url)",
    re.IGNORECASE,
)
# Values that look like credentials are scrubbed even under innocent keys (e.g. inside a message).
_SECRET_VALUE = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWTs
    r"|\b(?:pck|ssk|sak)_[A-Za-z0-9]{16,}"  # project keys
    r"|postgres(?:ql)?://[^\s'\"]+"  # connection strings carry passwords
)
# Each match of _SECRET_VALUE contains "eyJ", "postgres" or one of these; a value with none is left
# as it is, without running the (much slower) regular expression over it: every request's log line
# comes through here.
_KEY_MARKS = ("pck_", "ssk_", "sak_")


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """Whether a key names a secret (keys come from code, so there are few of them)."""
    return _SECRET_KEY.search(key) is not None


def _scrub_text(value: str) -> str:
    marked = "eyJ" in value or "postgres" in value
    if marked or ("_" in value and any(mark in value for mark in _KEY_MARKS)):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _secret_key(k) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank every secret-named key and credential-shaped value."""
    for key, value in list(event_dict.items()):
        if key != "event" and _secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple):
            event_dict[key] = _scrub(value)
    return event_dict


def configure_logging(settings: Settings | DashboardSettings, *, service: str) -> None:
    """Route structlog and stdlib logging through one pipeline writing to stderr."""
    level = getattr(logging, settings.log_level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # structlog's own events (one per request) are rendered and written directly, without a
    # stdlib LogRecord, Logger.handle and Formatter; stdlib records (uvicorn, psycopg) still go
    # through the ProcessorFormatter below with the same processors.
    if settings.log_format == "json":
        encoder = msgspec.json.Encoder()
        native: Any = structlog.processors.JSONRenderer(
            serializer=lambda obj, **_: encoder.encode(obj).decode()
        )
    else:
        native = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, native],
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
