"""Connected accounts (contract §1.4): a user's linked accounts that grant API access, and an
access token to the provider's API for one of them (201), refreshed with the stored refresh token
when need be. A client acts on its own user only.

Each token request may call the provider (a check of the stored token, a refresh): it is rate
limited per address and per user.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, post
from litestar.params import Parameter
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import AnyAuth, Auth, HttpRequest, own_user_only, user_id_param
from authstack_api.limits import limit
from authstack_api.responses import json_response, list_response
from authstack_api.schemas import Strict
from authstack_core.domain import connected_accounts
from authstack_core.domain.context import Deps

ACCESS_TOKEN = "/api/v1/connected-accounts/{user_id:str}/{provider_id:str}"
Scope = Annotated[str, Meta(max_length=4096)]
PathText = Annotated[str, Parameter(max_length=512)]


class AccessTokenRequest(Strict):
    scope: Scope | UnsetType = UNSET


def _owner(auth: Auth, user_id: str, refusal: str) -> str:
    target = user_id_param(auth, user_id)
    own_user_only(auth, target, refusal)
    return target


@get("/api/v1/connected-accounts/{user_id:str}")
async def list_connected(auth: AnyAuth, deps: Deps, user_id: str) -> Response[bytes]:
    owner = _owner(auth, user_id, "Client can only list connected accounts for their own user.")
    found = await connected_accounts.list_connected(deps, auth.project, owner)
    return list_response(a.connected_json() for a in found)


ACCESS_TOKEN_PATHS = [
    f"{ACCESS_TOKEN}/access-token",
    f"{ACCESS_TOKEN}/{{provider_account_id:str}}/access-token",
    # Deprecated: the signed-in user's ("/connected-accounts/me/{provider_id}/access-token").
    "/api/v1/auth/oauth/connected-accounts/{provider_id:str}/access-token",
]


@post(ACCESS_TOKEN_PATHS, status_code=201)
async def access_token(
    request: HttpRequest,
    auth: AnyAuth,
    deps: Deps,
    provider_id: PathText,
    data: AccessTokenRequest,
    user_id: str = "me",
    provider_account_id: PathText | None = None,
) -> Response[bytes]:
    """A token of the connected account whose provider account id is ``provider_account_id``,
    or of any of the user's connected accounts of that provider (the first that has one)."""
    owner = _owner(auth, user_id, "Client can only access its own connected accounts")
    await limit(request, "connected_account_token", account=owner)
    token = await connected_accounts.access_token(
        deps,
        auth.project,
        owner,
        provider_id,
        provider_account_id=provider_account_id,
        scope=data.scope if isinstance(data.scope, str) else None,
    )
    return json_response({"access_token": token}, status=201)
