"""Project key sets (``/internal/api-keys``): the keys apps are configured with."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
from litestar import Response, get, patch, post

from authstack_api.auth import AdminAuth
from authstack_api.ids import is_uuid
from authstack_api.responses import json_response
from authstack_api.schemas import ApiKeySetCreate, ApiKeySetUpdate
from authstack_core.domain import key_sets
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError, StatusError

# datetime's upper bound; anything later cannot be stored.
_MAX_EXPIRY_MILLIS = 253_402_300_799_000


def _key_set_id(value: str) -> str:
    if not is_uuid(value):
        raise StatusError(404, "API key set not found.")
    return value.lower()


@get("/api/v1/internal/api-keys")
async def list_key_sets(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    rows = await key_sets.list_key_sets(deps, auth.project.id)
    return json_response({"items": [r.json() for r in rows], "is_paginated": False})


@post("/api/v1/internal/api-keys", status_code=200)
async def create_key_set(auth: AdminAuth, deps: Deps, data: ApiKeySetCreate) -> Response[bytes]:
    kinds = [
        kind
        for kind, wanted in (
            ("publishable_client_key", data.has_publishable_client_key),
            ("secret_server_key", data.has_secret_server_key),
            ("super_secret_admin_key", data.has_super_secret_admin_key),
        )
        if wanted
    ]
    if not kinds:
        raise SchemaError(message="a key set needs at least one key (has_*_key: true)")
    if not time.time() * 1000 < data.expires_at_millis <= _MAX_EXPIRY_MILLIS:
        raise SchemaError(message="expires_at_millis must be a time in the future")
    created = await key_sets.create_key_set(
        deps,
        auth.project,
        description=data.description,
        expires_at=datetime.fromtimestamp(data.expires_at_millis / 1000, tz=UTC),
        kinds=kinds,
        actor=auth.actor,
    )
    return json_response(created.row.json(full_keys=created.keys))


@get("/api/v1/internal/api-keys/{key_set_id:str}")
async def get_key_set(auth: AdminAuth, deps: Deps, key_set_id: str) -> Response[bytes]:
    row = await key_sets.get_key_set(deps, auth.project.id, _key_set_id(key_set_id))
    return json_response(row.json())


@patch("/api/v1/internal/api-keys/{key_set_id:str}")
async def update_key_set(
    auth: AdminAuth, deps: Deps, key_set_id: str, data: ApiKeySetUpdate
) -> Response[bytes]:
    if data.revoked is False:
        raise SchemaError(message="revoked can only be set to true; a revoked key set stays so")
    row = await key_sets.update_key_set(
        deps,
        auth.project,
        _key_set_id(key_set_id),
        description=None if isinstance(data.description, msgspec.UnsetType) else data.description,
        revoke=data.revoked is True,
        actor=auth.actor,
    )
    return json_response(row.json())
