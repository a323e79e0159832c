"""Contact channels (email addresses) of a user."""

from __future__ import annotations

from typing import Unpack

from authstack_sdk._core import Call, done, segment
from authstack_sdk.models import ContactChannel, ContactChannelUpdate
from authstack_sdk.pagination import items_reader


def _one(user_id: str, channel_id: str) -> str:
    return f"/contact-channels/{segment(user_id)}/{segment(channel_id)}"


def list_contact_channels(user_id: str) -> Call[list[ContactChannel]]:
    """The user's contact channels."""
    return Call(
        "GET",
        "/contact-channels",
        items_reader(ContactChannel.from_wire),
        query={"user_id": user_id},
    )


def create_contact_channel(
    user_id: str,
    value: str,
    *,
    used_for_auth: bool = False,
    is_primary: bool | None = None,
    is_verified: bool | None = None,
) -> Call[ContactChannel]:
    """A new email address for the user; CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE
    if ``used_for_auth`` and another user signs in with it."""
    body: dict[str, object] = {
        "user_id": user_id,
        "value": value,
        "type": "email",
        "used_for_auth": used_for_auth,
    }
    if is_primary is not None:
        body["is_primary"] = is_primary
    if is_verified is not None:
        body["is_verified"] = is_verified
    return Call("POST", "/contact-channels", ContactChannel.from_wire, body=body)


def update_contact_channel(
    user_id: str, channel_id: str, **changes: Unpack[ContactChannelUpdate]
) -> Call[ContactChannel]:
    """The channel after changing the fields passed (and only those)."""
    return Call("PATCH", _one(user_id, channel_id), ContactChannel.from_wire, body=dict(changes))


def delete_contact_channel(user_id: str, channel_id: str) -> Call[None]:
    """Remove the channel from the user."""
    return Call("DELETE", _one(user_id, channel_id), done)


def send_verification_code(user_id: str, channel_id: str, *, callback_url: str) -> Call[None]:
    """Email the address a verification link to ``callback_url`` (which must be trusted)."""
    path = f"{_one(user_id, channel_id)}/send-verification-code"
    return Call("POST", path, done, body={"callback_url": callback_url})
