"""Users: the signed-in user (/users/me) and the server's user management (/users)."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, patch, post

from authstack_api.auth import MeAuth, ServerAuth, user_id_param
from authstack_api.direct import DIRECT
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.paging import SEARCH_PAGE, SearchQuery
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import (
    ClientUserUpdate,
    ServerUserCreate,
    ServerUserUpdate,
    changes_as,
    check_client_image,
    convert,
)
from authstack_core.domain import mfa, users
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CannotGetOwnUserWithoutUser,
    SchemaError,
    StatusError,
    UserNotFound,
)
from authstack_core.models.oauth import NewOAuthAccount
from authstack_core.models.users import NewUser, UserChanges

MAX_PAGE = 1000


@get("/api/v1/users/me", opt={DIRECT: True})
async def get_me(auth: MeAuth, deps: Deps) -> Response[bytes]:
    row = await users.get_user(deps, auth.project, auth.user.user_id)
    if row is None:  # the token outlived its user: behave as if signed out
        raise CannotGetOwnUserWithoutUser()
    return json_response(row.json(auth.type, auth.project.config))


def _client_changes(body: Any) -> UserChanges:
    update = convert(body, ClientUserUpdate)
    check_client_image(update.profile_image_url)
    return changes_as(update, UserChanges)


@patch("/api/v1/users/me")
async def update_me(auth: MeAuth, deps: Deps, data: dict[str, Any]) -> Response[bytes]:
    client = auth.type == "client"
    changes = _client_changes(data) if client else convert(data, ServerUserUpdate)
    try:
        row = await users.update_user(
            deps, auth.project, auth.user.user_id, changes, actor=auth.actor
        )
    except UserNotFound:
        raise CannotGetOwnUserWithoutUser() from None
    return json_response(row.json(auth.type, auth.project.config))


@delete("/api/v1/users/me", status_code=200)
async def delete_me(auth: MeAuth, deps: Deps) -> Response[bytes]:
    if auth.type == "client" and not auth.project.config.client_user_deletion:
        raise StatusError(
            400,
            "Client user deletion is not enabled for this project (users.allowClientUserDeletion).",
        )
    try:
        await users.delete_user(deps, auth.project, auth.user.user_id, actor=auth.actor)
    except UserNotFound:
        raise CannotGetOwnUserWithoutUser() from None
    return json_response(SUCCESS)


@get("/api/v1/users", dependencies=SEARCH_PAGE)
async def list_users(
    auth: ServerAuth,
    deps: Deps,
    page: SearchQuery,
    team_id: str | None = None,
    include_anonymous: str | None = None,
    only_anonymous: str | None = None,
    include_restricted: str | None = None,
) -> Response[bytes]:
    paged = page.checked(order_by="signed_up_at", max_page=MAX_PAGE)
    anonymous = parse_bool(include_anonymous, "include_anonymous")
    only = parse_bool(only_anonymous, "only_anonymous")
    if only and not anonymous:
        raise SchemaError(message="only_anonymous requires include_anonymous=true")
    found = await users.list_users(
        deps,
        auth.project,
        team_id=check_uuid(team_id, "team_id") if team_id is not None else None,
        include_anonymous=anonymous,
        only_anonymous=only,
        include_restricted=parse_bool(include_restricted, "include_restricted"),
        **paged,
    )
    return list_response(
        (row.json(auth.type, auth.project.config) for row in found.items),
        next_cursor=found.next_cursor,
    )


@post("/api/v1/users", status_code=201)
async def create_user(auth: ServerAuth, deps: Deps, data: ServerUserCreate) -> Response[bytes]:
    # Upstream's plain 400s, in its words.
    if data.password is not None and data.password_hash is not None:
        raise StatusError(400, "Cannot set both password and password_hash at the same time.")
    for flag in ("primary_email_auth_enabled", "primary_email_verified"):
        if data.primary_email is None and getattr(data, flag):
            raise StatusError(400, f"{flag} cannot be true without primary_email")
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
        is_anonymous=data.is_anonymous,
        restricted_by_admin=data.restricted_by_admin,
        restricted_by_admin_reason=data.restricted_by_admin_reason,
        restricted_by_admin_private_details=data.restricted_by_admin_private_details,
        country_code=data.country_code,
        risk_score_bot=scores.bot if scores else 0,
        risk_score_free_trial_abuse=scores.free_trial_abuse if scores else 0,
        totp_secret=mfa.parse_totp_secret(data.totp_secret_base64),
        # Linked as upstream links them: signing in and granting API access.
        oauth_accounts=tuple(
            NewOAuthAccount(
                provider_config_id=p.id,
                provider_account_id=p.account_id,
                email=p.email,
                allow_sign_in=True,
                allow_connected_accounts=True,
            )
            for p in data.oauth_providers or ()
        ),
    )
    row = await users.create_user(deps, auth.project, new, password=data.password, actor=auth.actor)
    return json_response(row.json(auth.type, auth.project.config), status=201)


@get("/api/v1/users/{user_id:str}")
async def get_user(
    auth: ServerAuth, deps: Deps, user_id: str, include_anonymous: str | None = None
) -> Response[bytes]:
    """One user by id, anonymous or not; ``include_anonymous`` is accepted (and checked) as on
    the listing, whose query upstream's read shares."""
    parse_bool(include_anonymous, "include_anonymous")
    row = await users.get_user(deps, auth.project, user_id_param(auth, user_id))
    if row is None:
        raise UserNotFound()
    return json_response(row.json(auth.type, auth.project.config))


@patch("/api/v1/users/{user_id:str}")
async def update_user(
    auth: ServerAuth, deps: Deps, user_id: str, data: ServerUserUpdate
) -> Response[bytes]:
    target = user_id_param(auth, user_id)
    row = await users.update_user(deps, auth.project, target, data, actor=auth.actor)
    return json_response(row.json(auth.type, auth.project.config))


@delete("/api/v1/users/{user_id:str}", status_code=200)
async def delete_user(auth: ServerAuth, deps: Deps, user_id: str) -> Response[bytes]:
    await users.delete_user(deps, auth.project, user_id_param(auth, user_id), actor=auth.actor)
    return json_response(SUCCESS)
