"""Provider accounts linked to users (contract §1.4, ``/oauth-providers``): a client acts on its
own user only (``user_id=me``), a server on any; only a server links one or changes its email
and provider account id."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, delete, get, patch, post
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import AnyAuth, Auth, ServerAuth, own_user_only, user_id_param
from authstack_api.ids import check_uuid
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import Email, Strict, changes_as, convert
from authstack_core.domain import oauth_providers
from authstack_core.domain.context import Deps
from authstack_core.models.oauth import NewOAuthAccount, OAuthAccountChanges

AccountId = Annotated[str, Meta(min_length=1, max_length=512)]
ProviderConfigId = Annotated[str, Meta(min_length=1, max_length=256)]


class OAuthProviderCreate(Strict):
    user_id: str
    provider_config_id: ProviderConfigId
    account_id: AccountId
    allow_sign_in: bool
    allow_connected_accounts: bool
    email: Email | UnsetType = UNSET


class ClientOAuthProviderUpdate(Strict):
    allow_sign_in: bool | UnsetType = UNSET
    allow_connected_accounts: bool | UnsetType = UNSET


class ServerOAuthProviderUpdate(ClientOAuthProviderUpdate):
    email: Email | UnsetType = UNSET
    account_id: AccountId | UnsetType = UNSET


def _owner(auth: Auth, user_id: str, action: str) -> str:
    target = user_id_param(auth, user_id)
    own_user_only(auth, target, f"Client can only {action} OAuth providers for their own user.")
    return target


@get("/api/v1/oauth-providers")
async def list_accounts(auth: AnyAuth, deps: Deps, user_id: str | None = None) -> Response[bytes]:
    owner = user_id_param(auth, user_id) if user_id is not None else None
    own_user_only(auth, owner, "Client can only list OAuth providers for their own user.")
    found = await oauth_providers.list_accounts(deps, auth.project, owner)
    return list_response(a.json(auth.type) for a in found)


@post("/api/v1/oauth-providers", status_code=201)
async def link_account(auth: ServerAuth, deps: Deps, data: OAuthProviderCreate) -> Response[bytes]:
    linked = await oauth_providers.link_account(
        deps,
        auth.project,
        user_id_param(auth, data.user_id),
        NewOAuthAccount(
            provider_config_id=data.provider_config_id,
            provider_account_id=data.account_id,
            email=data.email if isinstance(data.email, str) else None,
            allow_sign_in=data.allow_sign_in,
            allow_connected_accounts=data.allow_connected_accounts,
        ),
    )
    return json_response(linked.json(auth.type), status=201)


_ONE = "/api/v1/oauth-providers/{user_id:str}/{provider_id:str}"


def _account(auth: Auth, user_id: str, provider_id: str, action: str) -> tuple[str, str]:
    """The owner and the linked account (its row id) a path names; the id's shape first."""
    account = check_uuid(provider_id, "provider_id")
    return _owner(auth, user_id, action), account


@get(_ONE)
async def get_account(auth: AnyAuth, deps: Deps, user_id: str, provider_id: str) -> Response[bytes]:
    owner, account = _account(auth, user_id, provider_id, "read")
    found = await oauth_providers.get_account(deps, auth.project, owner, account)
    return json_response(found.json(auth.type))


@patch(_ONE)
async def update_account(
    auth: AnyAuth, deps: Deps, user_id: str, provider_id: str, data: dict[str, Any]
) -> Response[bytes]:
    owner, account = _account(auth, user_id, provider_id, "update")
    body = ClientOAuthProviderUpdate if auth.type == "client" else ServerOAuthProviderUpdate
    changes = changes_as(convert(data, body), OAuthAccountChanges)
    updated = await oauth_providers.update_account(deps, auth.project, owner, account, changes)
    return json_response(updated.json(auth.type))


@delete(_ONE, status_code=200)
async def unlink_account(
    auth: AnyAuth, deps: Deps, user_id: str, provider_id: str
) -> Response[bytes]:
    owner, account = _account(auth, user_id, provider_id, "delete")
    await oauth_providers.unlink_account(deps, auth.project, owner, account)
    return json_response(SUCCESS)
