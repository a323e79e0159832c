"""Sessions: create one for a user (impersonation too), list them, revoke one."""

from __future__ import annotations

from authstack_sdk._core import Call, done, segment
from authstack_sdk.models import Session, SessionTokens
from authstack_sdk.pagination import items_reader


def create_session(
    user_id: str, *, expires_in_millis: int | None = None, is_impersonation: bool = False
) -> Call[SessionTokens]:
    """A new session for the user: an access and a refresh token (the refresh token lives
    ``expires_in_millis``, a year by default). USER_ID_DOES_NOT_EXIST for an unknown user."""
    body: dict[str, object] = {"user_id": user_id, "is_impersonation": is_impersonation}
    if expires_in_millis is not None:
        body["expires_in_millis"] = expires_in_millis
    return Call("POST", "/auth/sessions", SessionTokens.from_wire, body=body)


def impersonate(user_id: str, *, expires_in_millis: int | None = None) -> Call[SessionTokens]:
    """An impersonation session: act as the user (listed to admins only, an hour by default)."""
    return create_session(user_id, expires_in_millis=expires_in_millis, is_impersonation=True)


def list_sessions(user_id: str) -> Call[list[Session]]:
    """The user's sessions (impersonation sessions are shown to admin access only)."""
    return Call(
        "GET", "/auth/sessions", items_reader(Session.from_wire), query={"user_id": user_id}
    )


def revoke_session(session_id: str, *, user_id: str) -> Call[None]:
    """End the session: its refresh token stops working at once."""
    return Call("DELETE", f"/auth/sessions/{segment(session_id)}", done, query={"user_id": user_id})
