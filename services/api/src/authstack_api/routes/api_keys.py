"""User and team API keys (contract §1.4, §5.4): create, list, read, revoke and check."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Response, get, patch, post
from msgspec import UNSET

from authstack_api.auth import AnyAuth, Auth, ServerAuth, acting_client, user_id_param
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit
from authstack_api.responses import json_response
from authstack_api.schemas import (
    ApiKeyCheck,
    ApiKeyUpdate,
    TeamApiKeyCreate,
    UserApiKeyCreate,
)
from authstack_core.crypto.api_keys import ApiKeyType
from authstack_core.domain import api_keys
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError


def _expiry(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, tz=UTC)


def _owner(auth: Auth, key_type: ApiKeyType, value: str | None) -> str | None:
    if value is None:
        return None
    if key_type == "user":
        return user_id_param(auth, value)
    return check_uuid(value, "team_id")


# Upstream answers 200 (not 201) to key creation; the SDK accepts either.
@post("/api/v1/user-api-keys", status_code=200)
async def create_user_key(auth: AnyAuth, deps: Deps, data: UserApiKeyCreate) -> Response[bytes]:
    acting = acting_client(auth)
    row, value = await api_keys.create_key(
        deps,
        auth.project,
        "user",
        user_id_param(auth, data.user_id),
        description=data.description,
        expires_at=_expiry(data.expires_at_millis),
        is_public=data.is_public,
        acting_user_id=acting,
    )
    return json_response(row.json(full_value=value))


@post("/api/v1/team-api-keys", status_code=200)
async def create_team_key(auth: AnyAuth, deps: Deps, data: TeamApiKeyCreate) -> Response[bytes]:
    acting = acting_client(auth)
    row, value = await api_keys.create_key(
        deps,
        auth.project,
        "team",
        check_uuid(data.team_id, "team_id"),
        description=data.description,
        expires_at=_expiry(data.expires_at_millis),
        is_public=data.is_public,
        acting_user_id=acting,
    )
    return json_response(row.json(full_value=value))


async def _list(auth: Auth, deps: Deps, key_type: ApiKeyType, owner: str | None) -> Response[bytes]:
    acting = acting_client(auth)
    if owner is None:
        raise SchemaError(message=f"query.{key_type}_id is required")
    rows = await api_keys.list_keys(
        deps,
        auth.project,
        key_type,
        _owner(auth, key_type, owner),
        acting_user_id=acting,
    )
    return json_response({"items": [r.json() for r in rows], "is_paginated": False})


@get("/api/v1/user-api-keys", opt={"query": frozenset({"user_id"})})
async def list_user_keys(auth: AnyAuth, deps: Deps, user_id: str | None = None) -> Response[bytes]:
    return await _list(auth, deps, "user", user_id)


@get("/api/v1/team-api-keys", opt={"query": frozenset({"team_id"})})
async def list_team_keys(auth: AnyAuth, deps: Deps, team_id: str | None = None) -> Response[bytes]:
    return await _list(auth, deps, "team", team_id)


async def _read(
    auth: Auth, deps: Deps, key_type: ApiKeyType, key_id: str, owner: str | None
) -> Response[bytes]:
    acting = acting_client(auth)
    row = await api_keys.get_key(
        deps,
        auth.project,
        key_type,
        check_uuid(key_id, "api_key_id"),
        owner_id=_owner(auth, key_type, owner),
        acting_user_id=acting,
    )
    return json_response(row.json())


@get("/api/v1/user-api-keys/{api_key_id:str}", opt={"query": frozenset({"user_id"})})
async def get_user_key(
    auth: AnyAuth, deps: Deps, api_key_id: str, user_id: str | None = None
) -> Response[bytes]:
    return await _read(auth, deps, "user", api_key_id, user_id)


@get("/api/v1/team-api-keys/{api_key_id:str}", opt={"query": frozenset({"team_id"})})
async def get_team_key(
    auth: AnyAuth, deps: Deps, api_key_id: str, team_id: str | None = None
) -> Response[bytes]:
    return await _read(auth, deps, "team", api_key_id, team_id)


async def _update(
    auth: Auth,
    deps: Deps,
    key_type: ApiKeyType,
    key_id: str,
    owner: str | None,
    data: ApiKeyUpdate,
) -> Response[bytes]:
    acting = acting_client(auth)
    row = await api_keys.update_key(
        deps,
        auth.project,
        key_type,
        check_uuid(key_id, "api_key_id"),
        owner_id=_owner(auth, key_type, owner),
        description=None if data.description is UNSET else data.description,
        expires_at=(
            api_keys.KEEP if data.expires_at_millis is UNSET else _expiry(data.expires_at_millis)
        ),
        revoke=data.revoked is True,
        acting_user_id=acting,
    )
    return json_response(row.json())


@patch("/api/v1/user-api-keys/{api_key_id:str}", opt={"query": frozenset({"user_id"})})
async def update_user_key(
    auth: AnyAuth,
    deps: Deps,
    api_key_id: str,
    data: ApiKeyUpdate,
    user_id: str | None = None,
) -> Response[bytes]:
    return await _update(auth, deps, "user", api_key_id, user_id, data)


@patch("/api/v1/team-api-keys/{api_key_id:str}", opt={"query": frozenset({"team_id"})})
async def update_team_key(
    auth: AnyAuth,
    deps: Deps,
    api_key_id: str,
    data: ApiKeyUpdate,
    team_id: str | None = None,
) -> Response[bytes]:
    return await _update(auth, deps, "team", api_key_id, team_id, data)


async def _check(auth: Auth, deps: Deps, key_type: ApiKeyType, api_key: str) -> Response[bytes]:
    row = await api_keys.check_key(deps, auth.project, key_type, api_key)
    return json_response(row.json())


_KEY_CHECK = {"limit": Limit("api_key_check")}


@post("/api/v1/user-api-keys/check", status_code=200, opt=_KEY_CHECK)
async def check_user_key(auth: ServerAuth, deps: Deps, data: ApiKeyCheck) -> Response[bytes]:
    return await _check(auth, deps, "user", data.api_key)


@post("/api/v1/team-api-keys/check", status_code=200, opt=_KEY_CHECK)
async def check_team_key(auth: ServerAuth, deps: Deps, data: ApiKeyCheck) -> Response[bytes]:
    return await _check(auth, deps, "team", data.api_key)
