"""Logging: one JSON pipeline for structlog and stdlib records, with secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from authstack_core.logging import REDACTED, configure_logging
from authstack_core.settings import Settings

JWT = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFiYyJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwicHJvamVjdF9pZCI6ImludGVybmFsIn0."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
REFRESH = "5h9y04s65bb90f542537d8q89qxf85k4y3x0ppb13y4dq"
SERVER_KEY = "ssk_0123456789abcdefghjkmnpqrstvwxyz0123456789abcd"
DB_URL = "postgresql://authstack:hunter2-db-password@db.internal:5432/authstack"


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Configure logging into a buffer, then put the process's logging back as it was."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_config = structlog.get_config()
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    settings = Settings(
        database_url="postgresql://localhost/x",
        server_secret="dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM",
        log_format="json",
        log_level="debug",
    )
    configure_logging(settings, service="test-service")
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
        structlog.configure(**saved_config)


def _records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_secret_named_fields_are_redacted(log_output: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "signed in",
        password="hunter2-password",
        refresh_token=REFRESH,
        access_token=JWT,
        secret_server_key=SERVER_KEY,
        authorization="Bearer abc",
        code="verification-code-123",
        user_id="33e7c043-d2d1-4187-acd3-f91b5ed64b46",
    )
    (record,) = _records(log_output)
    for key in ("password", "refresh_token", "access_token", "secret_server_key", "authorization",
                "code"):  # fmt: skip
        assert record[key] == REDACTED, key
    assert record["user_id"] == "33e7c043-d2d1-4187-acd3-f91b5ed64b46"
    assert record["event"] == "signed in"
    assert record["service"] == "test-service"
    assert record["level"] == "info"
    text = log_output.getvalue()
    for secret in ("hunter2-password", REFRESH, JWT, SERVER_KEY, "verification-code-123"):
        assert secret not in text


def test_credentials_inside_innocent_values_are_scrubbed(log_output: io.StringIO) -> None:
    structlog.get_logger("t").warning(
        f"request with {JWT} failed",
        detail=f"key {SERVER_KEY} rejected",
        target=DB_URL,
        headers={"x-stack-access-token": JWT, "accept": "application/json"},
        items=[JWT, "fine"],
    )
    (record,) = _records(log_output)
    assert record["event"] == f"request with {REDACTED} failed"
    assert record["detail"] == f"key {REDACTED} rejected"
    assert record["target"] == REDACTED
    assert record["headers"] == {"x-stack-access-token": REDACTED, "accept": "application/json"}
    assert record["items"] == [REDACTED, "fine"]
    assert "hunter2-db-password" not in log_output.getvalue()


def test_stdlib_records_go_through_the_same_redaction(log_output: io.StringIO) -> None:
    logging.getLogger("some.library").warning("connecting to %s with %s", DB_URL, JWT)
    (record,) = _records(log_output)
    assert record["event"] == f"connecting to {REDACTED} with {REDACTED}"
    assert record["level"] == "warning"
    assert record["service"] == "test-service"


def _fail() -> None:
    raise ValueError(f"token {JWT} is bad")


def test_exception_text_is_scrubbed(log_output: io.StringIO) -> None:
    try:
        _fail()
    except ValueError:
        structlog.get_logger("t").exception("failed")
    (record,) = _records(log_output)
    assert "ValueError" in record["exception"]
    assert JWT not in log_output.getvalue()


def test_level_filter_applies(log_output: io.StringIO) -> None:
    logging.getLogger("psycopg.pool").info("pool chatter")
    structlog.get_logger("t").debug("kept at debug")
    assert [r["event"] for r in _records(log_output)] == ["kept at debug"]


@pytest.mark.parametrize(
    "secret",
    [
        JWT,
        SERVER_KEY,
        "pck_" + SERVER_KEY[4:],
        "sak_" + SERVER_KEY[4:],
        DB_URL,
        DB_URL.replace("postgresql://", "postgres://"),
    ],
)
def test_every_credential_shape_is_scrubbed_from_plain_values(
    log_output: io.StringIO, secret: str
) -> None:
    # redact skips the pattern for values with none of its markers: each shape must still match.
    structlog.get_logger("t").info("event", note=f"saw {secret} here", path="/api/v1/users/me")
    (record,) = _records(log_output)
    assert record["note"] == f"saw {REDACTED} here"
    assert record["path"] == "/api/v1/users/me"
