"""External databases' connection strings are secrets: sealed when a config override is stored,
opened only by the sync engine, redacted whenever config is shown.

A sealed string is ``sealed:v1:<base64url>`` (AES-GCM, key from STACK_SERVER_SECRET, bound to
the project). A client that reads its config back and writes it again sends the redacted form;
that is recognised and keeps the stored secret instead of overwriting it with stars.
"""

from __future__ import annotations

import base64
from typing import Any

from authstack_core.crypto.sealing import SealError, sealer_for
from authstack_core.models.external_db_sync import (
    CONNECTION_STRING_PATH,
    external_databases,
    redact_connection_string,
)

SEALED_PREFIX = "sealed:v1:"
_PURPOSE = "external-db-connection-string"


class ConnectionStringError(Exception):
    """A stored connection string that does not open (the server secret changed)."""


def _context(project_id: str) -> bytes:
    return f"dbSync:{project_id}".encode()


def seal(server_secret: str, project_id: str, plain: str) -> str:
    sealed = sealer_for(server_secret, _PURPOSE).seal(plain.encode(), _context(project_id))
    return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode()


def open_sealed(server_secret: str, project_id: str, stored: str) -> str:
    """The plain connection string of a stored value (a value never sealed is returned as is).

    Raise ConnectionStringError when it does not open.
    """
    if not stored.startswith(SEALED_PREFIX):
        return stored
    try:
        blob = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :])
        plain = sealer_for(server_secret, _PURPOSE).open(blob, _context(project_id))
    except (SealError, ValueError):
        raise ConnectionStringError(
            "the stored connection string does not open with this server secret; set it again"
        ) from None
    return plain.decode()


def redacted(server_secret: str, project_id: str, stored: str) -> str:
    try:
        return redact_connection_string(open_sealed(server_secret, project_id, stored))
    except ConnectionStringError:
        return "postgres://****"


def _map_leaves(node: dict[str, Any], prefix: str, change: Any) -> dict[str, Any]:
    """``node`` with every connection-string leaf (at any nesting of dotted keys) replaced by
    ``change(target_id, value)``."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out[key] = _map_leaves(value, path, change)
            continue
        match = CONNECTION_STRING_PATH.fullmatch(path)
        out[key] = change(match.group(1), value) if match and isinstance(value, str) else value
    return out


def seal_override(
    server_secret: str, project_id: str, override: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any]:
    """``override`` with its plain connection strings sealed. ``current`` is the rendered
    config before the edit: a redacted string equal to what its stored value shows stays the
    stored value."""
    stored = {db.id: db.connection_string for db in external_databases(current)}

    def change(target_id: str, value: str) -> str:
        if value.startswith(SEALED_PREFIX):
            return value
        before = stored.get(target_id)
        if before and value == redacted(server_secret, project_id, before):
            return (
                before
                if before.startswith(SEALED_PREFIX)
                else seal(server_secret, project_id, before)
            )
        return seal(server_secret, project_id, value)

    return _map_leaves(override, "", change)


def redact_config(server_secret: str, project_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (rendered or an override) with each connection string shown redacted."""
    return _map_leaves(config, "", lambda _, value: redacted(server_secret, project_id, value))
