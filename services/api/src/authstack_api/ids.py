"""Identifier checks for path and query values."""

from __future__ import annotations

import re

from authstack_core.errors import SchemaError

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


def check_uuid(value: str, name: str) -> str:
    if not is_uuid(value):
        raise SchemaError(message=f"{name} must be a valid UUID")
    return value.lower()


def parse_bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value not in ("true", "false"):
        raise SchemaError(message=f"{name} must be one of the following values: true, false")
    return value == "true"
