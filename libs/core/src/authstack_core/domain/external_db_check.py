"""Test an external database as the sync engine would reach it: the same connection-string rules
and outbound guard, a short connect, ``SELECT 1`` and the right to create its tables."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import psycopg

from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_secrets import ConnectionStringError, open_sealed
from authstack_core.domain.external_db_sync_engine import (
    TargetError,
    connect_target,
    safe_message,
    secrets_of,
)
from authstack_core.errors import ExternalDatabaseNotFound
from authstack_core.models.external_db_sync import external_databases
from authstack_core.models.projects import TenantProject

CONNECT_TIMEOUT_S = 5
# The whole test: resolving, connecting and both queries.
TEST_TIMEOUT_S = 10
# Where the engine's unqualified CREATE TABLE lands: the first schema of the search path.
_CAN_CREATE = (
    "SELECT current_schema(), current_user,"
    " coalesce(has_schema_privilege(current_user, current_schema(), 'CREATE'), false)"
)


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """``error`` says why the engine could not sync there (no secrets in it); None when it can."""

    error: str | None = None

    def json(self) -> dict[str, Any]:
        return {"ok": True} if self.error is None else {"ok": False, "error": self.error}


def stored_connection_string(deps: Deps, project: TenantProject, target_id: str) -> str:
    """The plain connection string of the project's external database ``target_id``.

    Raise ExternalDatabaseNotFound when the config names no such PostgreSQL database, and
    ConnectionStringError when its stored value does not open.
    """
    for database in external_databases(project.config.raw):
        if database.id == target_id and database.type == "postgres":
            return open_sealed(deps.settings.server_secret, project.id, database.connection_string)
    raise ExternalDatabaseNotFound(target_id)


async def _probe(deps: Deps, plain: str) -> str | None:
    conn = await connect_target(deps, plain, connect_timeout_s=CONNECT_TIMEOUT_S)
    try:
        async with conn:
            await conn.execute("SELECT 1")
            cur = await conn.execute(_CAN_CREATE)
            row = await cur.fetchone()
    except psycopg.Error as exc:
        return safe_message(exc, secrets_of(plain))
    if row is None or row[0] is None:
        return "the user's search path names no schema to create the sync tables in"
    schema, user, can_create = row
    if not can_create:
        return (
            f"the user {user} may not create tables in the schema {schema} "
            f"(GRANT CREATE ON SCHEMA {schema} TO {user})"
        )
    return None


async def check_connection(deps: Deps, plain: str) -> ConnectionCheck:
    """Whether the sync engine could fill the database ``plain`` names, and if not, why."""
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            return ConnectionCheck(await _probe(deps, plain))
    except TargetError as exc:
        return ConnectionCheck(str(exc))
    except TimeoutError:
        return ConnectionCheck(f"no answer within {TEST_TIMEOUT_S} s")


async def check_stored_connection(
    deps: Deps, project: TenantProject, target_id: str
) -> ConnectionCheck:
    """``check_connection`` of an external database the project's config names (its stored,
    sealed string); ExternalDatabaseNotFound when it names none with this id."""
    try:
        plain = stored_connection_string(deps, project, target_id)
    except ConnectionStringError as exc:
        return ConnectionCheck(str(exc))
    return await check_connection(deps, plain)
