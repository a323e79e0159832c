"""Request authentication (contract §2): access type, project keys, admin and user tokens.

A handler says who may call it by annotating its ``auth`` parameter with one of the access types
below; ``authstack_api.context`` reads that annotation once at startup and passes the Auth in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

from litestar import Request

from authstack_api.ids import check_uuid
from authstack_core.crypto.codes import constant_time_equal, sha256_bytes
from authstack_core.crypto.tokens import (
    AccessTokenClaims,
    TokenExpiredError,
    TokenInvalidError,
)
from authstack_core.domain import access as access_reads
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
    InvalidOauthClientIdOrSecret,
    InvalidProjectForAccessToken,
    InvalidPublishableClientKey,
    InvalidSecretServerKey,
    InvalidSuperSecretAdminKey,
    ProjectKeyWithoutAccessType,
    PublishableClientKeyRequiredForProject,
    RestrictedUserNotAllowed,
    SchemaError,
    ServerAuthenticationRequired,
    StatusError,
    UnparsableAccessToken,
    UnparsableAdminAccessToken,
    UserAuthenticationRequired,
)
from authstack_core.models.audit_log import Actor, ActorType
from authstack_core.models.projects import ProjectRow, TenantProject

HttpRequest: TypeAlias = Request[Any, Any, Any]
AccessType = Literal["client", "server", "admin"]
_ACCESS_TYPES: dict[str, AccessType] = {"client": "client", "server": "server", "admin": "admin"}
ALL_ACCESS: tuple[AccessType, ...] = ("client", "server", "admin")
_PROJECT_ID = re.compile(
    r"^(internal|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_KEY_HEADERS = (
    "x-stack-publishable-client-key",
    "x-stack-secret-server-key",
    "x-stack-super-secret-admin-key",
)
# The client secret the SDK sends for a project that requires no publishable key.
PUBLIC_CLIENT_SECRET = "__stack_public_client__"


@dataclass(frozen=True, slots=True)
class Auth:
    type: AccessType
    project: TenantProject
    branch_id: str
    user: AccessTokenClaims | None
    # Who acts, for the audit log: part of the request's authentication (not a contextvar), so
    # a domain function that records an action is handed its actor where it is called.
    actor: Actor

    @property
    def user_id(self) -> str | None:
        return self.user.user_id if self.user else None

    @property
    def refresh_token_id(self) -> str | None:
        return self.user.refresh_token_id if self.user else None


@dataclass(frozen=True, slots=True)
class SignedIn(Auth):
    """An Auth whose request carries a signed-in user."""

    user: AccessTokenClaims


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call a handler: the metadata of its ``auth`` annotation."""

    allowed: tuple[AccessType, ...]
    # Raised (after the access type is checked) when no user is signed in; None: a user is optional.
    without_user: Callable[[], Exception] | None = None
    # Without an access type the handler gets None instead of ACCESS_TYPE_REQUIRED.
    optional: bool = False


AnyAuth: TypeAlias = Annotated[Auth, Access(ALL_ACCESS)]
ServerAuth: TypeAlias = Annotated[Auth, Access(("server", "admin"))]
AdminAuth: TypeAlias = Annotated[Auth, Access(("admin",))]


def _user_must_be_defined() -> SchemaError:
    return SchemaError(message="auth.user must be defined")


# Any access type with a signed-in user; they differ only in the error a request without one gets,
# as upstream's: where its request schema requires the user (``auth.user ... .defined()``), it is
# part of the request's shape (SCHEMA_ERROR); where its handler checks, it is
# USER_AUTHENTICATION_REQUIRED; the "own user" routes say CANNOT_GET_OWN_USER_WITHOUT_USER.
SchemaUserAuth: TypeAlias = Annotated[SignedIn, Access(ALL_ACCESS, _user_must_be_defined)]
UserAuth: TypeAlias = Annotated[SignedIn, Access(ALL_ACCESS, UserAuthenticationRequired)]
MeAuth: TypeAlias = Annotated[SignedIn, Access(ALL_ACCESS, CannotGetOwnUserWithoutUser)]
OptionalAuth: TypeAlias = Annotated[Auth | None, Access(ALL_ACCESS, optional=True)]


def is_project_id(value: str) -> bool:
    """Whether ``value`` can name a project (``internal`` or a lowercase UUID)."""
    return _PROJECT_ID.match(value) is not None


def _key_matches(given: str, stored_hashes: list[bytes]) -> bool:
    digest = sha256_bytes(given)
    matched = False
    for stored in stored_hashes:  # no early exit: every stored key costs the same
        matched |= constant_time_equal(digest, stored)
    return matched


def _millis(seconds: int) -> int:
    return seconds * 1000


async def authenticate(request: HttpRequest, access: Access) -> Auth | None:
    """Parse the Stack headers into the Auth ``access`` admits; raise the contract's error if not.

    None only when ``access`` is optional and no access type was sent.
    """
    headers = request.headers
    sent_type = headers.get("x-stack-access-type")
    if sent_type is None:
        if any(headers.get(h) for h in _KEY_HEADERS):
            raise ProjectKeyWithoutAccessType()
        if access.optional:
            return None
        raise AccessTypeRequired()
    access_type = _ACCESS_TYPES.get(sent_type)
    if access_type is None:
        raise InvalidAccessType()
    project_id = headers.get("x-stack-project-id")
    if not project_id:
        raise AccessTypeWithoutProjectId(request_type=access_type)
    if not is_project_id(project_id):
        raise CurrentProjectNotFound(project_id=project_id)
    branch_id = headers.get("x-stack-branch-id") or "main"
    deps: Deps = request.app.state.deps
    row = await access_reads.project_for_request(deps, project_id, branch_id)
    if row is None:
        raise CurrentProjectNotFound(project_id=project_id)
    admin_token = headers.get("x-stack-admin-access-token")
    admin_user_id = None
    if admin_token:
        admin_user_id = await _check_admin_access_token(deps, row, admin_token)
    else:
        try:
            _check_project_key(access_type, row, headers)
        except _KEY_REFUSALS:
            fresh = await access_reads.recheck_project(deps, row, branch_id)
            if fresh is None:
                raise
            row = fresh
            _check_project_key(access_type, row, headers)
    project = row.tenant_project()
    if project is None:
        raise BranchDoesNotExist(branch_id=branch_id)
    user = _check_access_token(deps, project, headers)
    if access_type not in access.allowed:
        raise InsufficientAccessType(
            actual_access_type=access_type, allowed_access_types=list(access.allowed)
        )
    actor = request_actor(request, access_type, admin_user_id, user)
    if access.without_user is None:
        return Auth(type=access_type, project=project, branch_id=branch_id, user=user, actor=actor)
    if user is None:
        raise access.without_user()
    return SignedIn(type=access_type, project=project, branch_id=branch_id, user=user, actor=actor)


def request_actor(
    request: HttpRequest,
    access_type: AccessType,
    admin_user_id: str | None,
    user: AccessTokenClaims | None,
) -> Actor:
    """Who an authenticated request acts as: the dashboard user behind an admin access token,
    else the key it carries, else (client access) its signed-in user. The address is the one
    EdgeMiddleware put in the scope: the peer, or what a trusted proxy reported."""
    kind: ActorType
    who: str | None = None
    if admin_user_id is not None:
        kind, who = "admin_user", admin_user_id
    elif access_type == "admin":
        kind = "admin_key"
    elif access_type == "server":
        kind = "server_key"
    else:
        kind, who = "client_user", user.user_id if user else None
    client = request.client
    return Actor.of(kind, who, client.host if client else None, request.headers.get("user-agent"))


def cron_secret_given(deps: Deps, request: HttpRequest) -> bool:
    """Whether the request carries ``Authorization: Bearer $CRON_SECRET`` (never, unset)."""
    secret = deps.settings.cron_secret
    given = request.headers.get("authorization", "")
    return bool(secret) and constant_time_equal(given.encode(), f"Bearer {secret}".encode())


def check_cron_secret(deps: Deps, request: HttpRequest) -> None:
    """Refuse (401) a request without ``Authorization: Bearer $CRON_SECRET``."""
    if not cron_secret_given(deps, request):
        raise StatusError(401, "Unauthorized: send Authorization: Bearer $CRON_SECRET.")


_KEY_REFUSALS = (InvalidPublishableClientKey, InvalidSecretServerKey, InvalidSuperSecretAdminKey)


def _check_project_key(access_type: str, project: ProjectRow, headers: Mapping[str, str]) -> None:
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


async def _check_admin_access_token(deps: Deps, project: ProjectRow, token: str) -> str:
    """The internal-project user an admin access token is of, if they administer ``project``."""
    try:
        claims = deps.tokens.verify_access_token(token)
    except TokenExpiredError as exc:
        raise AdminAccessTokenExpired(expired_at_millis=_millis(int(exc.payload["exp"]))) from None
    except TokenInvalidError:
        raise UnparsableAdminAccessToken() from None
    if claims.project_id != "internal" or claims.is_anonymous or claims.is_restricted:
        raise UnparsableAdminAccessToken()
    standing = await access_reads.admin_standing(deps, project, claims.user_id)
    if standing == "gone":
        raise StatusError(401, "The user of this admin access token no longer exists.")
    if standing == "not_admin":
        raise AdminAccessTokenIsNotAdmin()
    return claims.user_id


def _check_access_token(
    deps: Deps, project: TenantProject, headers: Mapping[str, str]
) -> AccessTokenClaims | None:
    token = headers.get("x-stack-access-token")
    if not token:
        return None
    claims = verify_user_token(deps, token)
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


def verify_user_token(deps: Deps, token: str) -> AccessTokenClaims:
    """The claims of a user's access token; ACCESS_TOKEN_EXPIRED or UNPARSABLE_ACCESS_TOKEN."""
    try:
        return deps.tokens.verify_access_token(token)
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


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


async def authenticate_oauth_client(deps: Deps, client_id: str, secret: str) -> TenantProject:
    """The project an OAuth client (``<project id>[#<branch id>]`` and its publishable key, or
    PUBLIC_CLIENT_SECRET) names; INVALID_OAUTH_CLIENT_ID_OR_SECRET for anything else."""
    project_id, _, branch_id = client_id.partition("#")
    if not is_project_id(project_id):
        raise InvalidOauthClientIdOrSecret(client_id=client_id)
    row = await access_reads.project_for_request(deps, project_id, branch_id or "main")
    project = row.tenant_project() if row is not None else None
    if row is None or project is None:
        raise InvalidOauthClientIdOrSecret(client_id=client_id)
    if secret == PUBLIC_CLIENT_SECRET:
        if row.config.require_publishable_client_key:
            raise InvalidOauthClientIdOrSecret(client_id=client_id)
    elif not _key_matches(secret, row.publishable_client_key_hashes):
        fresh = await access_reads.recheck_project(deps, row, branch_id or "main")
        if fresh is None or not _key_matches(secret, fresh.publishable_client_key_hashes):
            raise InvalidOauthClientIdOrSecret(client_id=client_id)
    return project


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


def own_user_only(auth: Auth, target: str | None, refusal: str) -> None:
    """Let a client name only its own user: CANNOT_GET_OWN_USER_WITHOUT_USER without a signed-in
    user, 403 ``refusal`` for another user (or none). Server and admin access may name any."""
    if auth.type != "client":
        return
    if auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    if target != auth.user.user_id:
        raise StatusError(403, refusal)


def listed_user(auth: Auth, user_id: str | None, listing: str) -> str | None:
    """The user a listing of ``listing`` is filtered by; a client may list only its own."""
    target = user_id_param(auth, user_id) if user_id is not None else None
    own_user_only(auth, target, f"A client can only list its own {listing}: send user_id=me.")
    return target


def acting_client(auth: Auth) -> str | None:
    """The signed-in user whose client rules apply, or None for server and admin access.

    A client request without a signed-in user gets USER_AUTHENTICATION_REQUIRED.
    """
    if auth.type != "client":
        return None
    if auth.user is None:
        raise UserAuthenticationRequired()
    return auth.user.user_id
