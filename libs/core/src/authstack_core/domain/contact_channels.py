"""Contact channels: CRUD, sign-in uniqueness per project and primary switching."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.db.queries import contact_channels as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    ContactChannelAlreadyExists,
    ContactChannelAlreadyUsedForAuthBySomeoneElse,
    ContactChannelNotFound,
    ContactChannelToChangeNotFound,
    KnownError,
    UserNotFound,
)
from authstack_core.models.contact_channels import ContactChannelChanges, ContactChannelRow
from authstack_core.models.projects import TenantProject

_AUTH_INDEX = "contact_channels_auth_value_idx"
_PER_USER_INDEX = "contact_channels_tenancy_id_user_id_type_value_key"


def _used_by_someone_else(channel_type: str, value: str) -> KnownError:
    return ContactChannelAlreadyUsedForAuthBySomeoneElse(
        type=channel_type, contact_channel_value=value, would_work_if_email_was_verified=False
    )


async def _check_free_for_auth(
    conn: AsyncConnection[Any],
    project: TenantProject,
    channel_type: str,
    value: str,
    *,
    except_id: str | None,
) -> None:
    owner = await q.select_auth_channel_id(conn, project.tenancy_id, channel_type, value)
    if owner is not None and owner != except_id:
        raise _used_by_someone_else(channel_type, value)


async def list_channels(
    deps: Deps, project: TenantProject, *, user_id: str | None, channel_id: str | None
) -> list[ContactChannelRow]:
    async with deps.pool.connection() as conn:
        return await q.select_channels(
            conn, project.tenancy_id, user_id=user_id, channel_id=channel_id
        )


async def get_channel(
    deps: Deps, project: TenantProject, user_id: str, channel_id: str
) -> ContactChannelRow:
    async with deps.pool.connection() as conn:
        found = await q.select_channel(conn, project.tenancy_id, user_id, channel_id)
    if found is None:
        raise ContactChannelNotFound()
    return found


async def create_channel(
    deps: Deps,
    project: TenantProject,
    user_id: str,
    *,
    channel_type: str,
    value: str,
    used_for_auth: bool,
    is_primary: bool,
    is_verified: bool,
) -> ContactChannelRow:
    """Add a channel; a value another account signs in with cannot be used for sign-in."""
    tenancy_id = project.tenancy_id
    channel_id = uuid.uuid4()
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            if await users_q.select_signed_up_at(conn, tenancy_id, user_id) is None:
                raise UserNotFound()
            if await q.select_user_has_value(
                conn, tenancy_id, user_id, channel_type, value, except_id=None
            ):
                raise ContactChannelAlreadyExists()
            if used_for_auth:
                await _check_free_for_auth(conn, project, channel_type, value, except_id=None)
            await q.insert_channel(
                conn,
                tenancy_id,
                channel_id,
                user_id,
                channel_type=channel_type,
                value=value,
                is_verified=is_verified,
                used_for_auth=used_for_auth,
            )
            if is_primary:
                await q.set_primary(conn, tenancy_id, user_id, channel_type, channel_id)
            created = await q.select_channel(conn, tenancy_id, user_id, str(channel_id))
    except UniqueViolation as exc:  # a concurrent request took the value first
        raise _conflict(exc, channel_type, value) from None
    assert created is not None
    return created


def _conflict(exc: UniqueViolation, channel_type: str, value: str) -> Exception:
    if exc.diag.constraint_name == _AUTH_INDEX:
        return _used_by_someone_else(channel_type, value)
    if exc.diag.constraint_name == _PER_USER_INDEX:
        return ContactChannelAlreadyExists()
    return exc


async def update_channel(
    deps: Deps,
    project: TenantProject,
    user_id: str,
    channel_id: str,
    changes: ContactChannelChanges,
) -> ContactChannelRow:
    """Apply a validated PATCH. A new value is unverified unless ``is_verified`` is sent;
    ``is_primary: true`` demotes the user's previous primary channel of that type."""
    tenancy_id = project.tenancy_id
    value = None if changes.value is UNSET else changes.value
    sent_type = None if changes.type is UNSET else changes.type
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            current = await q.select_channel(conn, tenancy_id, user_id, channel_id)
            if current is None:
                raise ContactChannelToChangeNotFound()
            channel_type = sent_type or current.type
            if value is not None and await q.select_user_has_value(
                conn, tenancy_id, user_id, channel_type, value, except_id=channel_id
            ):
                raise ContactChannelAlreadyExists()
            used_for_auth = (
                current.used_for_auth if changes.used_for_auth is UNSET else changes.used_for_auth
            )
            if used_for_auth:
                await _check_free_for_auth(
                    conn,
                    project,
                    channel_type,
                    value if value is not None else current.value,
                    except_id=channel_id,
                )
            verified = None if changes.is_verified is UNSET else changes.is_verified
            if verified is None and value is not None and value != current.value:
                verified = False
            await q.update_channel(
                conn,
                tenancy_id,
                user_id,
                channel_id,
                value=value,
                channel_type=sent_type,
                is_verified=verified,
                used_for_auth=None if changes.used_for_auth is UNSET else changes.used_for_auth,
                demote=changes.is_primary is False,
            )
            if changes.is_primary is True:
                await q.set_primary(conn, tenancy_id, user_id, channel_type, channel_id)
            updated = await q.select_channel(conn, tenancy_id, user_id, channel_id)
    except UniqueViolation as exc:
        raise _conflict(exc, sent_type or "email", value or "") from None
    assert updated is not None
    return updated


async def delete_channel(deps: Deps, project: TenantProject, user_id: str, channel_id: str) -> None:
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.delete_channel(conn, project.tenancy_id, user_id, channel_id):
            raise ContactChannelToChangeNotFound()
