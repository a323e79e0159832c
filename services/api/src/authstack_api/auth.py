"""Request authentication (contract §2): access type, project keys, admin and user tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request

from authstack_api.ids import check_uuid
from authstack_core.crypto.codes import constant_time_equal, sha256_bytes
from authstack_core.crypto.tokens import (
    AccessTokenClaims,
    TokenExpiredError,
    TokenInvalidError,
)
from authstack_core.db.queries.projects import (
    select_is_internal_team_member,
    select_project_for_request,
    select_user_exists,
)
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    AccessTokenExpired,
    AccessTypeRequired,
    AccessTypeWithoutProjectId,
    AdminAccessTokenExpired,
    AdminAccessTokenIsNotAdmin,
    AdminAuthenticationRequired,
    AnonymousAuthenticationNotAllowed,
    BranchDoesNotExist,
    CannotGetOwnUserWithoutUser,
    CurrentProjectNotFound,
    InsufficientAccessType,
    InvalidAccessType,
    InvalidProjectForAccessToken,
    InvalidPublishableClientKey,
    InvalidSecretServerKey,
    InvalidSuperSecretAdminKey,
    ProjectKeyWithoutAccessType,
    PublishableClientKeyRequiredForProject,
    RestrictedUserNotAllowed,
    ServerAuthenticationRequired,
    StatusError,
    UnparsableAccessToken,
    UnparsableAdminAccessToken,
    UserAuthenticationRequired,
)
from authstack_core.models.projects import ProjectRow

AccessType = Literal["client", "server", "admin"]
ACCESS_TYPES: frozenset[str] = frozenset({"client", "server", "admin"})
_PROJECT_ID = re.compile(
    r"^(internal|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_KEY_HEADERS = (
    "x-stack-publishable-client-key",
    "x-stack-secret-server-key",
    "x-stack-super-secret-admin-key",
)


@dataclass(frozen=True, slots=True)
class Auth:
    type: AccessType
    project: ProjectRow
    branch_id: str
    user: AccessTokenClaims | None

    @property
    def user_id(self) -> str | None:
        return self.user.user_id if self.user else None

    @property
    def refresh_token_id(self) -> str | None:
        return self.user.refresh_token_id if self.user else None


def deps_of(request: Request[Any, Any, Any]) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def _key_matches(given: str, stored_hashes: list[bytes]) -> bool:
    digest = sha256_bytes(given)
    matched = False
    for stored in stored_hashes:  # no early exit: every stored key costs the same
        matched |= constant_time_equal(digest, stored)
    return matched


def _millis(seconds: int) -> int:
    return seconds * 1000


async def authenticate(request: Request[Any, Any, Any]) -> Auth | None:
    """Parse the Stack headers into an Auth, or None when no access type was sent."""
    headers = request.headers
    access_type = headers.get("x-stack-access-type")
    if access_type is None:
        if any(headers.get(h) for h in _KEY_HEADERS):
            raise ProjectKeyWithoutAccessType()
        return None
    if access_type not in ACCESS_TYPES:
        raise InvalidAccessType()
    project_id = headers.get("x-stack-project-id")
    if not project_id:
        raise AccessTypeWithoutProjectId(request_type=access_type)
    if not _PROJECT_ID.match(project_id):
        raise CurrentProjectNotFound(project_id=project_id)
    branch_id = headers.get("x-stack-branch-id") or "main"
    deps = deps_of(request)
    async with deps.pool.connection() as conn:
        project = await select_project_for_request(conn, project_id, branch_id)
        if project is None:
            raise CurrentProjectNotFound(project_id=project_id)
        admin_token = headers.get("x-stack-admin-access-token")
        if admin_token:
            await _check_admin_access_token(deps, conn, project, admin_token)
        else:
            _check_project_key(access_type, project, headers)
    if project.tenancy_id is None:
        raise BranchDoesNotExist(branch_id=branch_id)
    user = _check_access_token(deps, project, headers)
    return Auth(type=access_type, project=project, branch_id=branch_id, user=user)  # type: ignore[arg-type]


def _check_project_key(access_type: str, project: ProjectRow, headers: Any) -> None:
    if access_type == "client":
        key = headers.get("x-stack-publishable-client-key")
        if key:
            if not _key_matches(key, project.publishable_client_key_hashes):
                raise InvalidPublishableClientKey(project_id=project.id)
        elif project.config.require_publishable_client_key:
            raise PublishableClientKeyRequiredForProject(project_id=project.id)
    elif access_type == "server":
        key = headers.get("x-stack-secret-server-key")
        if not key:
            raise ServerAuthenticationRequired()
        if not _key_matches(key, project.secret_server_key_hashes):
            raise InvalidSecretServerKey(project_id=project.id)
    else:
        key = headers.get("x-stack-super-secret-admin-key")
        if not key:
            raise AdminAuthenticationRequired()
        if not _key_matches(key, project.super_secret_admin_key_hashes):
            raise InvalidSuperSecretAdminKey(project_id=project.id)


async def _check_admin_access_token(deps: Deps, conn: Any, project: ProjectRow, token: str) -> None:
    try:
        claims = deps.tokens.verify_access_token(token)
    except TokenExpiredError as exc:
        raise AdminAccessTokenExpired(expired_at_millis=_millis(int(exc.payload["exp"]))) from None
    except TokenInvalidError:
        raise UnparsableAdminAccessToken() from None
    if claims.project_id != "internal" or claims.is_anonymous or claims.is_restricted:
        raise UnparsableAdminAccessToken()
    owner = project.owner_team_id
    if owner is None or not await select_is_internal_team_member(conn, str(owner), claims.user_id):
        # A member check cannot tell a deleted user from an outsider; look once more to say which.
        internal = await select_project_for_request(conn, "internal", "main")
        if (
            internal is not None
            and internal.tenancy_id is not None
            and not await select_user_exists(conn, internal.tenancy_id, claims.user_id)
        ):
            raise StatusError(401, "The user of this admin access token no longer exists.")
        raise AdminAccessTokenIsNotAdmin()


def _check_access_token(deps: Deps, project: ProjectRow, headers: Any) -> AccessTokenClaims | None:
    token = headers.get("x-stack-access-token")
    if not token:
        return None
    try:
        claims = deps.tokens.verify_access_token(token)
    except TokenExpiredError as exc:
        p = exc.payload
        raise AccessTokenExpired(
            expired_at_millis=_millis(int(p["exp"])),
            project_id=p.get("project_id"),
            user_id=p.get("sub"),
            refresh_token_id=p.get("refresh_token_id"),
        ) from None
    except TokenInvalidError:
        raise UnparsableAccessToken() from None
    if claims.project_id != project.id:
        raise InvalidProjectForAccessToken(
            expected_project_id=project.id, actual_project_id=claims.project_id
        )
    allow_anonymous = _truthy(headers.get("x-stack-allow-anonymous-user"))
    allow_restricted = allow_anonymous or _truthy(headers.get("x-stack-allow-restricted-user"))
    if claims.is_anonymous and not allow_anonymous:
        raise AnonymousAuthenticationNotAllowed()
    if claims.is_restricted and not allow_restricted:
        raise RestrictedUserNotAllowed(restricted_reason=claims.restricted_reason)
    return claims


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def require(auth: Auth | None, *allowed: AccessType) -> Auth:
    """The Auth, if its access type is one of ``allowed``; raise the contract's error otherwise."""
    if auth is None:
        raise AccessTypeRequired()
    if auth.type not in allowed:
        raise InsufficientAccessType(
            actual_access_type=auth.type, allowed_access_types=list(allowed)
        )
    return auth


def resolve_user_id(auth: Auth, user_id: str) -> str:
    """Map ``me`` to the signed-in user; raise CANNOT_GET_OWN_USER_WITHOUT_USER without one."""
    if user_id == "me":
        if auth.user is None:
            raise CannotGetOwnUserWithoutUser()
        return auth.user.user_id
    return user_id


def user_id_param(auth: Auth, user_id: str, name: str = "user_id") -> str:
    """A ``user_id`` path or query value: ``me`` resolved, then checked to be a UUID."""
    return check_uuid(resolve_user_id(auth, user_id), name)


def acting_client(auth: Auth) -> str | None:
    """The signed-in user whose client rules apply, or None for server and admin access.

    A client request without a signed-in user gets USER_AUTHENTICATION_REQUIRED.
    """
    if auth.type != "client":
        return None
    if auth.user is None:
        raise UserAuthenticationRequired()
    return auth.user.user_id
