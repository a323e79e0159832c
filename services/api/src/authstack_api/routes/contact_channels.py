"""Contact channels: CRUD with a client limited to its own user (contract §1.4, §5.4).

Sending and checking verification codes belong to the email area.
"""

from __future__ import annotations

from litestar import Response, delete, get, patch, post
from msgspec import UNSET

from authstack_api.auth import AnyAuth, Auth, own_user_only, user_id_param
from authstack_api.ids import check_uuid
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import ContactChannelCreate, ContactChannelUpdate
from authstack_core.domain import contact_channels
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError


def _owner(auth: Auth, user_id: str, action: str) -> str:
    """The channel owner named by the request; a client may only act on its own channels."""
    target = user_id_param(auth, user_id)
    own_user_only(auth, target, f"A client can only {action} contact channels of its own user.")
    return target


def _channel(auth: Auth, user_id: str, contact_channel_id: str, action: str) -> tuple[str, str]:
    """The owner and the channel a ``/contact-channels/{user_id}/{id}`` path names."""
    return _owner(auth, user_id, action), check_uuid(contact_channel_id, "contact_channel_id")


def _check_verified_flag(auth: Auth, sent: bool) -> None:
    if auth.type == "client" and sent:
        raise StatusError(400, "A client cannot set is_verified.")


@get("/api/v1/contact-channels")
async def list_channels(
    auth: AnyAuth,
    deps: Deps,
    user_id: str | None = None,
    contact_channel_id: str | None = None,
) -> Response[bytes]:
    if auth.type == "client" and user_id is None:
        raise StatusError(403, "A client can only list contact channels of its own user.")
    owner = _owner(auth, user_id, "list") if user_id is not None else None
    rows = await contact_channels.list_channels(
        deps,
        auth.project,
        user_id=owner,
        channel_id=(
            check_uuid(contact_channel_id, "contact_channel_id")
            if contact_channel_id is not None
            else None
        ),
    )
    return list_response(r.json() for r in rows)


@post("/api/v1/contact-channels", status_code=201)
async def create_channel(auth: AnyAuth, deps: Deps, data: ContactChannelCreate) -> Response[bytes]:
    owner = _owner(auth, data.user_id, "create")
    _check_verified_flag(auth, data.is_verified is not None)
    row = await contact_channels.create_channel(
        deps,
        auth.project,
        owner,
        channel_type=data.type,
        value=data.value,
        used_for_auth=data.used_for_auth,
        is_primary=bool(data.is_primary),
        is_verified=bool(data.is_verified),
    )
    return json_response(row.json(), status=201)


_ONE = "/api/v1/contact-channels/{user_id:str}/{contact_channel_id:str}"


@get(_ONE)
async def get_channel(
    auth: AnyAuth, deps: Deps, user_id: str, contact_channel_id: str
) -> Response[bytes]:
    owner, channel = _channel(auth, user_id, contact_channel_id, "read")
    row = await contact_channels.get_channel(deps, auth.project, owner, channel)
    return json_response(row.json())


@patch(_ONE)
async def update_channel(
    auth: AnyAuth,
    deps: Deps,
    user_id: str,
    contact_channel_id: str,
    data: ContactChannelUpdate,
) -> Response[bytes]:
    owner = _owner(auth, user_id, "update")
    _check_verified_flag(auth, data.is_verified is not UNSET)
    channel = check_uuid(contact_channel_id, "contact_channel_id")
    row = await contact_channels.update_channel(deps, auth.project, owner, channel, data)
    return json_response(row.json())


@delete(_ONE, status_code=200)
async def delete_channel(
    auth: AnyAuth, deps: Deps, user_id: str, contact_channel_id: str
) -> Response[bytes]:
    owner, channel = _channel(auth, user_id, contact_channel_id, "delete")
    await contact_channels.delete_channel(deps, auth.project, owner, channel)
    return json_response(SUCCESS)
