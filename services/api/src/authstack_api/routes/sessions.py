"""Sessions: refresh by header, sign-out, listing, server-side creation and revocation."""

from __future__ import annotations

import time
from datetime import timedelta

from litestar import Response, delete, get, post

from authstack_api.auth import AnyAuth, HttpRequest, ServerAuth, resolve_user_id, user_id_param
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import CreateSessionBody
from authstack_core.domain import sessions, users
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    AccessTokenExpired,
    RefreshTokenNotFoundOrExpired,
    StatusError,
    UserIdDoesNotExist,
)


@post(
    "/api/v1/auth/sessions/current/refresh",
    status_code=200,
    opt={"limit": Limit("token_refresh")},
)
async def refresh_current(auth: AnyAuth, deps: Deps, request: HttpRequest) -> Response[bytes]:
    refresh_token = request.headers.get("x-stack-refresh-token")
    if not refresh_token or len(refresh_token) > 256:
        raise RefreshTokenNotFoundOrExpired()
    access_token = await sessions.refresh_access_token(deps, auth.project, refresh_token)
    return json_response({"access_token": access_token})


@delete("/api/v1/auth/sessions/current", status_code=200)
async def sign_out(auth: AnyAuth, deps: Deps) -> Response[bytes]:
    if auth.refresh_token_id is None:
        # As upstream: with no session to end (no signed-in user), the access token is expired.
        raise AccessTokenExpired(
            expired_at_millis=int(time.time() * 1000),
            project_id=None,
            user_id=None,
            refresh_token_id=None,
        )
    await sessions.sign_out(deps, auth.project, auth.refresh_token_id)
    return json_response(SUCCESS)


@get("/api/v1/auth/sessions")
async def list_sessions(auth: AnyAuth, deps: Deps, user_id: str) -> Response[bytes]:
    target = resolve_user_id(auth, user_id)
    check_uuid(target, "user_id")
    if auth.type == "client" and target != auth.user_id:
        raise StatusError(403, "A client can only list its own sessions.")
    rows = await sessions.list_sessions(
        deps, auth.project, target, include_impersonation=auth.type == "admin"
    )
    current = auth.refresh_token_id
    return json_response(
        {
            "items": [row.json(current_refresh_token_id=current) for row in rows],
            "is_paginated": False,
        }
    )


@post("/api/v1/auth/sessions", status_code=200)
async def create_session(auth: ServerAuth, deps: Deps, data: CreateSessionBody) -> Response[bytes]:
    check_uuid(data.user_id, "user_id")
    if await users.get_user(deps, auth.project, data.user_id) is None:
        raise UserIdDoesNotExist(user_id=data.user_id)
    lifetime = (
        timedelta(milliseconds=data.expires_in_millis)
        if data.expires_in_millis is not None
        else None  # 365 days; an impersonation session 1 hour
    )
    issued = await sessions.create_session(
        deps,
        auth.project,
        data.user_id,
        lifetime=lifetime,
        is_impersonation=data.is_impersonation,
        actor=auth.actor,
    )
    return json_response(
        {"refresh_token": issued.refresh_token, "access_token": issued.access_token}
    )


@delete("/api/v1/auth/sessions/{session_id:str}", status_code=200)
async def delete_session(
    auth: AnyAuth, deps: Deps, session_id: str, user_id: str
) -> Response[bytes]:
    """Revoke one session. ``user_id`` (``me`` allowed) is required as on the listing and, as
    upstream, only checked: a client may revoke any session of its own user but the current one."""
    user_id_param(auth, user_id)
    check_uuid(session_id, "session_id")
    if auth.type == "client":
        owner = await sessions.session_owner(deps, auth.project, session_id)
        if auth.user is None or owner != auth.user_id:
            raise StatusError(404, "Session not found.")
    deleted = await sessions.revoke_session(
        deps, auth.project, session_id, current_session_id=auth.refresh_token_id
    )
    if not deleted:
        raise StatusError(404, "Session not found.")
    return json_response(SUCCESS)
