"""What production mode refuses: example, placeholder and weak secrets, and development switches.

Upstream's self-host images once ran with the example secrets of their documentation, which let
anyone who had read that documentation sign tokens for, or log in to, other people's deployments.
With ``STACK_ENVIRONMENT=production`` (the default inside the container images) every service
refuses to start until each secret below is a real one.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict

# Fragments that mark a value copied from documentation, a template or a test rather than
# generated. Each is at least five characters (or one a generator never emits, like "<"), so a
# random 43-character token contains one by chance about once in a million.
PLACEHOLDER_MARKERS = (
    "<",
    ">",
    " ",
    "change",
    "example",
    "placeholder",
    "replace",
    "secret",
    "password",
    "insecure",
    "dummy",
    "your-",
    "your_",
    "test_",
    "_test",
    "test-",
    "-test",
    "123456",
)
# Whole values that are common defaults, compared case-insensitively.
COMMON_VALUES = frozenset(
    {
        "admin",
        "administrator",
        "postgres",
        "root",
        "letmein",
        "qwerty",
        "12345678",
        "123456789",
        "1234567890",
        "changeme",
        "default",
    }
)
MIN_GENERATED_CHARS = 16  # CRON_SECRET, the database password: `secrets.token_urlsafe(32)` gives 43
MIN_KEY_BODY_CHARS = 32  # project keys: pck_/ssk_/sak_ + 45 random characters
MIN_SERVER_SECRET_BYTES = 32  # `openssl rand -base64 32`
MIN_ADMIN_PASSWORD_CHARS = 12
MIN_DISTINCT_CHARS = 8  # "aaaaaaaaaaaaaaaaaaaa" or "abababab..." is long and still not random

Kind = Literal["generated", "project_key", "server_secret", "admin_password"]


@dataclass(frozen=True)
class Problem:
    """One reason a production start is refused; ``field`` is the Settings attribute."""

    field: str
    reason: str


def _placeholder(value: str) -> str | None:
    lowered = value.lower()
    if lowered in COMMON_VALUES:
        return "is a well-known default"
    for marker in PLACEHOLDER_MARKERS:
        if marker in lowered:
            return f"looks like an example or placeholder (contains {marker!r})"
    return None


def _weak(value: str, minimum: int) -> str | None:
    if len(value) < minimum:
        return f"is too short (at least {minimum} characters of random data)"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return "is not random (too few distinct characters)"
    return _placeholder(value)


def check_value(value: str, kind: Kind) -> str | None:
    """Why ``value`` is unfit for production as a secret of this kind, or None if it is fine."""
    if kind == "generated":
        return _weak(value, MIN_GENERATED_CHARS)
    if kind == "project_key":
        _, sep, body = value.partition("_")
        return _weak(body if sep else value, MIN_KEY_BODY_CHARS)
    if kind == "admin_password":
        return _weak(value, MIN_ADMIN_PASSWORD_CHARS)
    # server_secret: base64url of random bytes. Text that decodes to readable words is a phrase.
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return "is not base64url"
    if len(raw) < MIN_SERVER_SECRET_BYTES:
        return f"must decode to at least {MIN_SERVER_SECRET_BYTES} random bytes"
    text = raw.decode("latin-1")
    if all(ch in string.printable for ch in text):
        return "decodes to readable text, not random bytes (openssl rand -base64 32)"
    return _weak(value, MIN_GENERATED_CHARS)


def database_password(url: str) -> str | None:
    """The password inside a PostgreSQL connection string, if it carries one."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:  # a malformed string is reported by the connection instead
        return None
    return str(password) if password else None


def production_problems(
    secrets: dict[str, tuple[str | None, Kind]],
    *,
    required: frozenset[str],
    database_url: str,
    development_switches: dict[str, bool],
) -> list[Problem]:
    """Every reason these settings must not run in production, in a stable order.

    ``secrets`` maps a Settings field to its value and kind; fields in ``required`` must be set.
    ``development_switches`` maps a field to whether a development-only switch is on.
    """
    problems: list[Problem] = []
    for field, (value, kind) in secrets.items():
        if value is None or value == "":
            if field in required:
                problems.append(Problem(field, "must be set in production"))
            continue
        reason = check_value(value, kind)
        if reason:
            problems.append(Problem(field, reason))
    password = database_password(database_url)
    if password is not None:
        reason = check_value(password, "generated")
        if reason:
            problems.append(Problem("database_url", f"the password {reason}"))
    problems.extend(
        Problem(field, "is a development switch and must be off in production")
        for field, on in development_switches.items()
        if on
    )
    return problems
