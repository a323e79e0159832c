"""Users: the signed-in user (/users/me) and the server's user management (/users)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post

from authstack_api.auth import Auth, authenticate, deps_of, require
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import (
    ClientUserUpdate,
    ServerUserCreate,
    ServerUserUpdate,
    changes_as,
    convert,
)
from authstack_core.domain import mfa, users
from authstack_core.errors import (
    CannotGetOwnUserWithoutUser,
    SchemaError,
    StatusError,
    UserNotFound,
)
from authstack_core.models.users import NewUser, UserChanges

MAX_PAGE = 1000


async def _me(request: Request[Any, Any, Any]) -> tuple[Auth, str]:
    auth = require(await authenticate(request), "client", "server", "admin")
    if auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    return auth, auth.user.user_id


@get("/api/v1/users/me")
async def get_me(request: Request[Any, Any, Any]) -> Response[bytes]:
    auth, user_id = await _me(request)
    row = await users.get_user(deps_of(request), auth.project, user_id)
    if row is None:  # the token outlived its user: behave as if signed out
        raise CannotGetOwnUserWithoutUser()
    return json_response(row.json(auth.type, auth.project.config))


def _client_changes(body: Any, where: str) -> UserChanges:
    update = convert(body, ClientUserUpdate, where)
    image = update.profile_image_url
    if isinstance(image, str) and not image.startswith("data:image/"):
        raise SchemaError(message="profile_image_url must be a base64 data URL of an image")
    return changes_as(update, UserChanges)


@patch("/api/v1/users/me")
async def update_me(request: Request[Any, Any, Any], data: dict[str, Any]) -> Response[bytes]:
    auth, user_id = await _me(request)
    where = f"PATCH {request.url.path}"
    if auth.type == "client":
        changes = _client_changes(data, where)
    else:
        changes = convert(data, ServerUserUpdate, where)
    try:
        row = await users.update_user(deps_of(request), auth.project, user_id, changes)
    except UserNotFound:
        raise CannotGetOwnUserWithoutUser() from None
    return json_response(row.json(auth.type, auth.project.config))


@delete("/api/v1/users/me", status_code=200)
async def delete_me(request: Request[Any, Any, Any]) -> Response[bytes]:
    auth, user_id = await _me(request)
    if auth.type == "client" and not auth.project.config.client_user_deletion:
        raise StatusError(
            400,
            "Client user deletion is not enabled for this project (users.allowClientUserDeletion).",
        )
    try:
        await users.delete_user(deps_of(request), auth.project, user_id)
    except UserNotFound:
        raise CannotGetOwnUserWithoutUser() from None
    return json_response(SUCCESS)


_LIST_QUERY = frozenset(
    {
        "team_id", "limit", "cursor", "order_by", "desc", "query",
        "include_anonymous", "only_anonymous", "include_restricted",
    }
)  # fmt: skip


@get("/api/v1/users", opt={"query": _LIST_QUERY})
async def list_users(
    request: Request[Any, Any, Any],
    team_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    order_by: str | None = None,
    desc: str | None = None,
    include_anonymous: str | None = None,
    only_anonymous: str | None = None,
    include_restricted: str | None = None,
) -> Response[bytes]:
    auth = require(await authenticate(request), "server", "admin")
    # `query` is a reserved Litestar handler argument (the whole query MultiDict): read it here.
    query: str | None = request.query_params.get("query")
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise SchemaError(message=f"limit must be between 1 and {MAX_PAGE}")
    if order_by not in (None, "signed_up_at"):
        raise SchemaError(message="order_by must be signed_up_at")
    anonymous = parse_bool(include_anonymous, "include_anonymous")
    only = parse_bool(only_anonymous, "only_anonymous")
    if only and not anonymous:
        raise SchemaError(message="only_anonymous requires include_anonymous=true")
    if query is not None and len(query) > 256:
        raise SchemaError(message="query must be at most 256 characters")
    page = await users.list_users(
        deps_of(request),
        auth.project,
        limit=limit,
        cursor=check_uuid(cursor, "cursor") if cursor is not None else None,
        desc=parse_bool(desc, "desc"),
        team_id=check_uuid(team_id, "team_id") if team_id is not None else None,
        query=query or None,
        include_anonymous=anonymous,
        only_anonymous=only,
        include_restricted=parse_bool(include_restricted, "include_restricted"),
    )
    return json_response(
        {
            "items": [row.json(auth.type, auth.project.config) for row in page.items],
            "is_paginated": True,
            "pagination": {"next_cursor": page.next_cursor},
        }
    )


@post("/api/v1/users", status_code=201)
async def create_user(request: Request[Any, Any, Any], data: ServerUserCreate) -> Response[bytes]:
    auth = require(await authenticate(request), "server", "admin")
    if data.password is not None and data.password_hash is not None:
        raise SchemaError(message="send either password or password_hash, not both")
    if not data.restricted_by_admin and (
        data.restricted_by_admin_reason is not None
        or data.restricted_by_admin_private_details is not None
    ):
        raise SchemaError(message="restriction reasons must be null unless restricted_by_admin")
    scores = data.risk_scores.sign_up if data.risk_scores else None
    new = NewUser(
        primary_email=data.primary_email,
        primary_email_verified=data.primary_email_verified,
        primary_email_auth_enabled=data.primary_email_auth_enabled,
        password_hash=data.password_hash,
        display_name=data.display_name,
        profile_image_url=data.profile_image_url,
        client_metadata=data.client_metadata,
        client_read_only_metadata=data.client_read_only_metadata,
        server_metadata=data.server_metadata,
        otp_auth_enabled=data.otp_auth_enabled,
        passkey_auth_enabled=data.passkey_auth_enabled,
        is_anonymous=data.is_anonymous,
        restricted_by_admin=data.restricted_by_admin,
        restricted_by_admin_reason=data.restricted_by_admin_reason,
        restricted_by_admin_private_details=data.restricted_by_admin_private_details,
        country_code=data.country_code,
        risk_score_bot=scores.bot if scores else 0,
        risk_score_free_trial_abuse=scores.free_trial_abuse if scores else 0,
        totp_secret=mfa.parse_totp_secret(data.totp_secret_base64),
    )
    row = await users.create_user(deps_of(request), auth.project, new, password=data.password)
    return json_response(row.json(auth.type, auth.project.config), status=201)


async def _server_target(request: Request[Any, Any, Any], user_id: str) -> tuple[Auth, str]:
    auth = require(await authenticate(request), "server", "admin")
    if user_id == "me":
        if auth.user is None:
            raise CannotGetOwnUserWithoutUser()
        return auth, auth.user.user_id
    return auth, check_uuid(user_id, "user_id")


@get("/api/v1/users/{user_id:str}")
async def get_user(request: Request[Any, Any, Any], user_id: str) -> Response[bytes]:
    auth, target = await _server_target(request, user_id)
    row = await users.get_user(deps_of(request), auth.project, target)
    if row is None:
        raise UserNotFound()
    return json_response(row.json(auth.type, auth.project.config))


@patch("/api/v1/users/{user_id:str}")
async def update_user(
    request: Request[Any, Any, Any], user_id: str, data: ServerUserUpdate
) -> Response[bytes]:
    auth, target = await _server_target(request, user_id)
    row = await users.update_user(deps_of(request), auth.project, target, data)
    return json_response(row.json(auth.type, auth.project.config))


@delete("/api/v1/users/{user_id:str}", status_code=200)
async def delete_user(request: Request[Any, Any, Any], user_id: str) -> Response[bytes]:
    auth, target = await _server_target(request, user_id)
    await users.delete_user(deps_of(request), auth.project, target)
    return json_response(SUCCESS)
