"""User and team API keys (contract §1.4, §5.4): create, list, read, revoke and check.

The two kinds answer the same routes under their own prefix, their owner named by ``user_id`` or
``team_id``; ``_key_routes`` builds the handlers of one kind.
"""

# No `from __future__ import annotations` here: the handlers' annotations name their kind's query
# parameter and body, so they are evaluated where the handlers are built.

from datetime import UTC, datetime
from typing import Annotated

from litestar import Response, get, patch, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter
from msgspec import UNSET

from authstack_api.auth import AnyAuth, Auth, ServerAuth, acting_client, user_id_param
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit
from authstack_api.responses import json_response, list_response
from authstack_api.schemas import (
    ApiKeyCheck,
    ApiKeyCreate,
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


def _key_routes(key_type: ApiKeyType, create_body: type[ApiKeyCreate]) -> list[HTTPRouteHandler]:
    """Create, list, read, update and check for keys of ``key_type``."""
    path = f"/api/v1/{key_type}-api-keys"
    one = path + "/{api_key_id:str}"
    owner_param = f"{key_type}_id"
    Owner = Annotated[str | None, Parameter(query=owner_param)]  # noqa: N806  # a local type

    def parse_owner(auth: Auth, value: str) -> str:
        return user_id_param(auth, value) if key_type == "user" else check_uuid(value, "team_id")

    def addressed(
        auth: Auth, api_key_id: str, owner: str | None
    ) -> tuple[str | None, str, str | None]:
        """The acting client user, the key and its owner (if named) of a request for one key."""
        acting = acting_client(auth)
        key_id = check_uuid(api_key_id, "api_key_id")
        return acting, key_id, parse_owner(auth, owner) if owner is not None else None

    async def create_key(auth: AnyAuth, deps: Deps, data: ApiKeyCreate) -> Response[bytes]:
        acting = acting_client(auth)
        row, value = await api_keys.create_key(
            deps,
            auth.project,
            key_type,
            parse_owner(auth, getattr(data, owner_param)),
            description=data.description,
            expires_at=_expiry(data.expires_at_millis),
            is_public=data.is_public,
            acting_user_id=acting,
        )
        return json_response(row.json(full_value=value))

    # Each kind decodes its own body: the owner's field is user_id or team_id.
    create_key.__annotations__["data"] = create_body

    async def list_keys(auth: AnyAuth, deps: Deps, owner: Owner = None) -> Response[bytes]:
        acting = acting_client(auth)
        if owner is None:
            raise SchemaError(message=f"query.{owner_param} must be defined")
        rows = await api_keys.list_keys(
            deps, auth.project, key_type, parse_owner(auth, owner), acting_user_id=acting
        )
        return list_response(r.json() for r in rows)

    async def get_key(
        auth: AnyAuth, deps: Deps, api_key_id: str, owner: Owner = None
    ) -> Response[bytes]:
        acting, key_id, owner_id = addressed(auth, api_key_id, owner)
        row = await api_keys.get_key(
            deps, auth.project, key_type, key_id, owner_id=owner_id, acting_user_id=acting
        )
        return json_response(row.json())

    async def update_key(
        auth: AnyAuth, deps: Deps, api_key_id: str, data: ApiKeyUpdate, owner: Owner = None
    ) -> Response[bytes]:
        acting, key_id, owner_id = addressed(auth, api_key_id, owner)
        row = await api_keys.update_key(
            deps,
            auth.project,
            key_type,
            key_id,
            owner_id=owner_id,
            description=None if data.description is UNSET else data.description,
            expires_at=(
                api_keys.KEEP
                if data.expires_at_millis is UNSET
                else _expiry(data.expires_at_millis)
            ),
            revoke=data.revoked is True,
            acting_user_id=acting,
        )
        return json_response(row.json())

    async def check_key(auth: ServerAuth, deps: Deps, data: ApiKeyCheck) -> Response[bytes]:
        row = await api_keys.check_key(deps, auth.project, key_type, data.api_key)
        return json_response(row.json())

    return [
        # Upstream answers 200 (not 201) to key creation; the SDK accepts either.
        post(path, status_code=200)(create_key),
        get(path)(list_keys),
        get(one)(get_key),
        patch(one)(update_key),
        post(path + "/check", status_code=200, opt={"limit": Limit("api_key_check")})(check_key),
    ]


user_key_routes = _key_routes("user", UserApiKeyCreate)
team_key_routes = _key_routes("team", TeamApiKeyCreate)
