"""The external database sync's mappings (contract §7.2): which target table each synced source
feeds, with which public columns, keyed by what.

Only what the API shows a server would see goes out: never password hashes, refresh token hashes,
OAuth tokens, code hashes or sealed content. The source SELECTs live in
``db.queries.external_db_sync``; the target side's statements in ``db.external_target``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, LiteralString
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict


@dataclass(frozen=True, slots=True)
class Column:
    name: LiteralString
    type: LiteralString  # the target's PostgreSQL type


@dataclass(frozen=True, slots=True)
class Mapping:
    """One target table: its columns (in the order the source SELECT returns them), its primary
    key, and the ``sync_tombstones.row_key`` field each key column is read from."""

    name: LiteralString
    columns: tuple[Column, ...]
    key: tuple[LiteralString, ...]
    row_key_fields: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for part in spec.split(","):
        name, _, type_ = part.strip().partition(" ")
        out.append(Column(name, type_))
    return tuple(out)


MAPPINGS: tuple[Mapping, ...] = (
    Mapping(
        "users",
        _cols(
            "id uuid, display_name text, profile_image_url text, primary_email text, "
            "primary_email_verified boolean, signed_up_at timestamptz, client_metadata jsonb, "
            "client_read_only_metadata jsonb, server_metadata jsonb, is_anonymous boolean"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "contact_channels",
        _cols(
            "id uuid, user_id uuid, type text, value text, is_primary boolean, "
            "is_verified boolean, used_for_auth boolean, created_at timestamptz"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "teams",
        _cols(
            "id uuid, display_name text, profile_image_url text, created_at timestamptz, "
            "client_metadata jsonb, client_read_only_metadata jsonb, server_metadata jsonb"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "team_member_profiles",
        _cols(
            "team_id uuid, user_id uuid, display_name text, profile_image_url text, "
            "created_at timestamptz"
        ),
        ("team_id", "user_id"),
        ("team_id", "user_id"),
    ),
    Mapping(
        "team_permissions",
        _cols("team_id uuid, user_id uuid, id text, created_at timestamptz"),
        ("team_id", "user_id", "id"),
        ("team_id", "user_id", "permission_id"),
    ),
    Mapping(
        "team_invitations",
        _cols(
            "id uuid, team_id uuid, recipient_email text, expires_at timestamptz, "
            "created_at timestamptz"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "email_outboxes",
        _cols(
            "id uuid, status text, is_high_priority boolean, rendered_subject text, "
            "skipped_reason text, send_retries integer, scheduled_at timestamptz, "
            "created_at timestamptz, sent_at timestamptz, finished_sending_at timestamptz"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "project_permissions",
        _cols("user_id uuid, id text, created_at timestamptz"),
        ("user_id", "id"),
        ("user_id", "permission_id"),
    ),
    Mapping(
        "refresh_tokens",
        _cols(
            "id uuid, user_id uuid, created_at timestamptz, last_used_at timestamptz, "
            "is_impersonation boolean, expires_at timestamptz"
        ),
        ("id",),
        ("id",),
    ),
    Mapping(
        "connected_accounts",
        _cols(
            "id uuid, user_id uuid, provider text, provider_account_id text, created_at timestamptz"
        ),
        ("id",),
        ("id",),
    ),
)
MAPPING_NAMES: tuple[str, ...] = tuple(m.name for m in MAPPINGS)


@dataclass(frozen=True, slots=True)
class Window:
    """A batch's read: a tenancy's changes numbered in (after, upto], at most ``limit``."""

    tenancy_id: uuid.UUID
    after: int
    upto: int
    limit: int

    def params(self, mapping: str) -> dict[str, Any]:
        return {
            "tenancy_id": self.tenancy_id,
            "mapping": mapping,
            "after": self.after,
            "upto": self.upto,
            "limit": self.limit,
        }


CONNECTION_STRING_PATH = re.compile(r"dbSync\.externalDatabases\.([^.]+)\.connectionString")


@dataclass(frozen=True, slots=True)
class ExternalDatabase:
    """One ``dbSync.externalDatabases.<id>`` entry of a project's rendered config."""

    id: str
    type: str
    connection_string: str  # as stored: sealed (see domain.external_db_secrets) or plain


def external_databases(config: dict[str, Any]) -> list[ExternalDatabase]:
    """The entries of ``dbSync.externalDatabases`` in ``config`` (rendered), by id."""
    section = config.get("dbSync", {})
    entries = section.get("externalDatabases", {}) if isinstance(section, dict) else {}
    if not isinstance(entries, dict):
        return []
    out = []
    for db_id, entry in sorted(entries.items()):
        if not isinstance(entry, dict):
            continue
        conn = entry.get("connectionString")
        out.append(
            ExternalDatabase(
                str(db_id), str(entry.get("type", "")), conn if isinstance(conn, str) else ""
            )
        )
    return out


def redact_connection_string(text: str) -> str:
    """``postgres://user:****@host:port/db``: what a connection string may show, never its
    password (nor any other parameter, which may hold one)."""
    try:
        params = conninfo_to_dict(text)
    except Exception:
        return "postgres://****"
    user = quote(str(params.get("user", "")), safe="")
    host = str(params.get("host", ""))
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = f":{params['port']}" if params.get("port") else ""
    db = f"/{quote(str(params['dbname']), safe='')}" if params.get("dbname") else ""
    who = f"{user}:****@" if user else "****@"
    return f"postgres://{who}{host}{port}{db}"
