"""Sign-in with OAuth (contract §5.2): the authorize step that sends the browser to the provider,
and the callback that comes back from it and hands the app a one-time code.

Two OAuth flows nest. The *outer* one is the app's, with us as its authorization server: its
``redirect_uri``, ``state`` and PKCE challenge. The *inner* one is ours, with the provider: a
fresh state, PKCE verifier and nonce, kept with the outer parameters for 10 minutes under the
SHA-256 of the inner state. In redirect mode the browser also carries a cookie named after the
inner state (``stack-oauth-inner-<state>``), so that a callback URL carried to another browser
(login CSRF) is refused; in JSON mode the app's own state and PKCE play that part.

Every URL the browser may be sent to (``redirect_uri``, ``error_redirect_url``,
``after_callback_redirect_url``) is checked against the project's trusted domains at authorize,
before any redirect, and again at the callback.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from psycopg import AsyncConnection

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.db.queries import oauth as q
from authstack_core.domain import access, oauth_accounts, oauth_codes
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    InnerOAuthCookieNotFound,
    InvalidOAuthState,
    KnownError,
    OAuthExtraScopeNotAvailableWithSharedOAuthKeys,
    OAuthLinkNeedsToken,
    OAuthProviderNotFoundOrNotEnabled,
    OuterOAuthTimeout,
    RedirectUrlNotWhitelisted,
)
from authstack_core.models.oauth import FlowType, OuterInfoRow, ProviderConfig, provider_config
from authstack_core.models.projects import TenantProject
from authstack_core.oauth.client import authorization_url, exchange, resolve_app
from authstack_core.redirects import is_trusted_redirect, require_trusted_redirect

OUTER_FLOW_LIFETIME = timedelta(minutes=10)
CSRF_COOKIE_PREFIX = "stack-oauth-inner-"


def callback_url(deps: Deps, provider_id: str) -> str:
    """Where the provider sends the browser back: registered with the provider's app."""
    return f"{deps.settings.api_url}/api/v1/auth/oauth/callback/{provider_id}"


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` set in its query (replacing any of the same names)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """The app's authorize request, its client and access token already checked by the API."""

    provider_id: str
    flow_type: FlowType
    user_id: str | None  # the user of the ``token`` sent along, if any
    redirect_uri: str
    state: str
    code_challenge: str
    error_redirect_url: str | None
    after_callback_redirect_url: str | None
    provider_scope: str | None
    json_mode: bool


@dataclass(frozen=True, slots=True)
class AuthorizeStart:
    """Where to send the browser, and the inner state that names the CSRF cookie (redirect
    mode only; None in JSON mode)."""

    location: str
    cookie_state: str | None


def _enabled_provider(project: TenantProject, provider_id: str, flow: FlowType) -> ProviderConfig:
    provider = provider_config(project.config, provider_id)
    usable = provider is not None and (
        provider.allow_sign_in or (flow == "link" and provider.allow_connected_accounts)
    )
    if provider is None or not usable:
        raise OAuthProviderNotFoundOrNotEnabled()
    return provider


async def start(
    deps: Deps, project: TenantProject, branch_id: str, request: AuthorizeRequest
) -> AuthorizeStart:
    """Check the request, keep the flow, and return the provider's authorization URL.

    Raise REDIRECT_URL_NOT_WHITELISTED for an untrusted URL,
    OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED, OAuthLinkNeedsToken,
    OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS, and the provider errors of
    ``oauth.client.resolve_app``.
    """
    config = project.config
    redirect_uri = require_trusted_redirect(config, request.redirect_uri.split("#", 1)[0])
    error_redirect_url = require_trusted_redirect(config, request.error_redirect_url)
    after_callback = require_trusted_redirect(config, request.after_callback_redirect_url)
    provider = _enabled_provider(project, request.provider_id, request.flow_type)
    if request.flow_type == "link" and request.user_id is None:
        raise OAuthLinkNeedsToken()
    if request.provider_scope and provider.is_shared:
        raise OAuthExtraScopeNotAvailableWithSharedOAuthKeys()
    app = await resolve_app(deps.settings, provider)
    inner_state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(24)
    info = OuterInfoRow(
        tenancy_id=project.tenancy_id,
        project_id=project.id,
        branch_id=branch_id,
        provider_config_id=provider.id,
        flow_type=request.flow_type,
        user_id=uuid.UUID(request.user_id) if request.user_id else None,
        redirect_uri=redirect_uri,
        outer_state=request.state,
        code_challenge=request.code_challenge,
        error_redirect_url=error_redirect_url,
        after_callback_redirect_url=after_callback,
        provider_scope=request.provider_scope or None,
        inner_code_verifier=verifier,
        nonce=nonce,
        cookie_required=not request.json_mode,
        expires_at=datetime.now(UTC) + OUTER_FLOW_LIFETIME,
    )
    async with deps.pool.connection() as conn, conn.transaction():
        await q.delete_stale_outer_infos(conn, project.tenancy_id)
        await q.insert_outer_info(conn, sha256_bytes(inner_state), info)
    location = authorization_url(
        app,
        redirect_uri=callback_url(deps, provider.id),
        state=inner_state,
        code_verifier=verifier,
        nonce=nonce,
        extra_scope=request.provider_scope,
    )
    return AuthorizeStart(location, None if request.json_mode else inner_state)


def _error_location(info: OuterInfoRow, project: TenantProject, error: KnownError) -> str | None:
    """Where the browser learns of ``error``: the flow's error_redirect_url, if still trusted."""
    url = info.error_redirect_url
    if url is None or not is_trusted_redirect(project.config, url):
        return None
    details = msgspec.json.encode(error.details or {}).decode()
    return with_query(
        url,
        {
            "error": "server_error",
            "error_description": error.text,
            "errorCode": error.code,
            "message": error.text,
            "details": details,
        },
    )


async def _take_flow(deps: Deps, inner_state: str | None) -> OuterInfoRow:
    if not inner_state:
        raise InvalidOAuthState()
    async with deps.pool.connection() as conn:
        info = await q.take_outer_info(conn, sha256_bytes(inner_state))
    if info is None:
        raise InvalidOAuthState()
    return info


async def _finish(
    deps: Deps,
    project: TenantProject,
    info: OuterInfoRow,
    provider_id: str,
    params: Mapping[str, str],
    inner_state: str,
) -> str:
    if info.expires_at <= datetime.now(UTC):
        raise OuterOAuthTimeout()
    if not is_trusted_redirect(project.config, info.redirect_uri):
        raise RedirectUrlNotWhitelisted()
    provider = _enabled_provider(project, provider_id, info.flow_type)
    app = await resolve_app(deps.settings, provider)
    profile, tokens = await exchange(
        app,
        redirect_uri=callback_url(deps, provider_id),
        params=params,
        state=inner_state,
        code_verifier=info.inner_code_verifier,
        nonce=info.nonce,
        extra_scope=info.provider_scope,
    )

    async def issue_code(conn: AsyncConnection[Any], user: oauth_accounts.OAuthUser) -> str:
        return await oauth_codes.issue_code_in(
            conn, project, info, user.user_id, is_new_user=user.is_new_user
        )

    attempt = oauth_accounts.SignInAttempt.of(info)
    code = await oauth_accounts.sign_in(deps, project, attempt, profile, tokens, issue_code)
    return with_query(info.redirect_uri, {"code": code, "state": info.outer_state})


async def complete(
    deps: Deps, provider_id: str, params: Mapping[str, str], *, has_cookie: bool
) -> str:
    """Finish the flow the callback's ``state`` names; the URL to send the browser to: the app's
    ``redirect_uri`` with ``code`` and ``state``, or its ``error_redirect_url`` with
    ``errorCode``, ``message`` and ``details`` for a known error (when it gave one).

    ``has_cookie``: the browser sent this flow's CSRF cookie. Raise InvalidOAuthState for an
    unknown, used or other provider's state, InnerOAuthCookieNotFound without the cookie in
    redirect mode, the provider errors, and known errors when there is no error_redirect_url.
    """
    inner_state = params.get("state")
    info = await _take_flow(deps, inner_state)
    assert inner_state is not None
    if info.cookie_required and not has_cookie:
        raise InnerOAuthCookieNotFound()
    if info.provider_config_id != provider_id:
        raise InvalidOAuthState()
    row = await access.project_for_request(deps, info.project_id, info.branch_id)
    project = row.tenant_project() if row is not None else None
    if project is None or project.tenancy_id != info.tenancy_id:
        raise InvalidOAuthState()
    try:
        return await _finish(deps, project, info, provider_id, params, inner_state)
    except KnownError as error:
        location = _error_location(info, project, error)
        if location is None:
            raise
        return location
