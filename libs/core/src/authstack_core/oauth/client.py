"""Talking to a provider (authlib): its app for a project, the authorization URL, the code
exchange with the ID token checked, and the profile of who signed in.

An app is resolved per flow: the shared keys (``STACK_<TYPE>_CLIENT_ID``), Stack Auth's MOCK
convention (an OpenID Connect client of ``STACK_OAUTH_MOCK_URL``), the project's own keys, or a
generic OpenID Connect provider discovered from the project's issuer URL. Requests to endpoints a
project named go through ``http.public_only_transport``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from authstack_core.errors import (
    InnerOAuthCallbackFailed,
    InvalidProviderIdToken,
    OAuthProviderAccessDenied,
    OAuthProviderAddressRefused,
    OAuthProviderNotConfigured,
    OAuthProviderNotFoundOrNotEnabled,
    OAuthProviderUnavailable,
)
from authstack_core.models.oauth import ProviderConfig, ProviderProfile, ProviderTokens
from authstack_core.oauth.http import TIMEOUT, get_json, public_only_transport
from authstack_core.oauth.providers import (
    BUILTIN,
    GENERIC_OIDC,
    MOCK,
    ProfileSource,
    ProviderSpec,
)
from authstack_core.outbound import OutboundAddressError
from authstack_core.settings import Settings
from authstack_core.settings.sections import MOCK_OAUTH_KEY

MOCK_CLIENT_SECRET = "MOCK-SERVER-SECRET"
# How long a discovery document or a key set is reused before it is fetched again.
CACHE_SECONDS = 600
# Clock skew allowed when checking an ID token's times.
LEEWAY_SECONDS = 60
# What the provider says when the user said no (the flow then ends at error_redirect_url).
_DENIED = frozenset({"access_denied", "consent_required", "login_required", "interaction_required"})
_UNSAFE_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})

# (URL, whether private addresses were allowed) -> (monotonic expiry, document)
_cache: dict[tuple[str, bool], tuple[float, Any]] = {}


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """One provider as a flow uses it: endpoints, our client there and what we ask for."""

    spec: ProviderSpec
    client_id: str
    client_secret: str = field(repr=False)
    is_shared: bool
    authorize_url: str
    token_url: str
    userinfo_url: str | None
    jwks_url: str | None
    issuer: str | None
    id_token_algorithms: tuple[str, ...]
    # False for endpoints a project named: connect to public addresses only.
    allow_private: bool
    extra_params: Mapping[str, str]

    def client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method=self.spec.token_auth,
            redirect_uri=redirect_uri,
            transport=public_only_transport(allow_private=self.allow_private),
            timeout=TIMEOUT,
        )


@contextmanager
def provider_errors() -> Iterator[None]:
    """Turn what can go wrong talking to a provider into the flow's errors."""
    try:
        yield
    except OutboundAddressError:
        raise OAuthProviderAddressRefused() from None
    except (httpx2.HTTPError, ValueError):
        raise OAuthProviderUnavailable() from None


async def _fetch_json(url: str, *, allow_private: bool) -> Any:
    """A provider document (discovery, key set), reused for CACHE_SECONDS."""
    key = (url, allow_private)
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    with provider_errors():
        async with httpx2.AsyncClient(
            transport=public_only_transport(allow_private=allow_private), timeout=TIMEOUT
        ) as http:
            document = await get_json(http, url, headers={"Accept": "application/json"})
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = (time.monotonic() + CACHE_SECONDS, document)
    return document


def _endpoint(document: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    if required:
        raise OAuthProviderUnavailable()
    return None


async def _discovered(
    spec: ProviderSpec,
    issuer_url: str,
    client_id: str,
    client_secret: str,
    *,
    is_shared: bool,
    allow_private: bool,
) -> OAuthApp:
    """An app of the OpenID Connect provider whose issuer is ``issuer_url`` (or whose discovery
    document is at that URL), per OpenID Connect Discovery 1.0."""
    base = issuer_url.rstrip("/")
    url = (
        issuer_url if "/.well-known/" in issuer_url else f"{base}/.well-known/openid-configuration"
    )
    document = await _fetch_json(url, allow_private=allow_private)
    if not isinstance(document, dict):
        raise OAuthProviderUnavailable()
    issuer = document.get("issuer")
    # The document must be the named issuer's own (Discovery §4.3).
    if not isinstance(issuer, str) or (
        "/.well-known/" not in issuer_url and issuer.rstrip("/") != base
    ):
        raise OAuthProviderUnavailable()
    offered = document.get("id_token_signing_alg_values_supported")
    algorithms = (
        tuple(a for a in offered if isinstance(a, str)) if isinstance(offered, list) else ()
    )
    return OAuthApp(
        spec=spec,
        client_id=client_id,
        client_secret=client_secret,
        is_shared=is_shared,
        authorize_url=str(_endpoint(document, "authorization_endpoint")),
        token_url=str(_endpoint(document, "token_endpoint")),
        userinfo_url=_endpoint(document, "userinfo_endpoint", required=False),
        jwks_url=_endpoint(document, "jwks_uri"),
        issuer=issuer,
        id_token_algorithms=tuple(a for a in algorithms if a not in _UNSAFE_ALGORITHMS)
        or ("RS256",),
        allow_private=allow_private,
        extra_params=spec.extra_params,
    )


async def resolve_app(settings: Settings, provider: ProviderConfig) -> OAuthApp:
    """The app ``provider`` signs in through.

    Raise OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED for an unknown type, OAuthProviderNotConfigured
    without keys, and the provider errors (``provider_errors``) when discovery fails.
    """
    if provider.is_generic_oidc:
        if not (provider.issuer_url and provider.client_id and provider.client_secret):
            raise OAuthProviderNotConfigured()
        return await _discovered(
            GENERIC_OIDC,
            provider.issuer_url,
            provider.client_id,
            provider.client_secret,
            is_shared=False,
            allow_private=settings.outbound_allow_private_networks,
        )
    spec = BUILTIN.get(provider.type)
    if spec is None:
        raise OAuthProviderNotFoundOrNotEnabled()
    if provider.is_shared:
        keys = settings.oauth_shared_keys.get(provider.type)
        if keys is None:
            raise OAuthProviderNotConfigured()
        if keys.client_id == MOCK_OAUTH_KEY and settings.oauth_mock_url:
            # The operator's development provider: its address is the operator's setting.
            return await _discovered(
                MOCK,
                settings.oauth_mock_url,
                provider.type,
                MOCK_CLIENT_SECRET,
                is_shared=True,
                allow_private=True,
            )
        client_id, client_secret = keys
    elif provider.client_id and provider.client_secret:
        client_id, client_secret = provider.client_id, provider.client_secret
    else:
        raise OAuthProviderNotConfigured()
    tenant = quote(provider.microsoft_tenant_id or "consumers", safe="")
    extra = dict(spec.extra_params)
    if provider.type == "facebook" and provider.facebook_config_id:
        extra["config_id"] = provider.facebook_config_id

    def at(url: str | None) -> str | None:
        return url.replace("{tenant}", tenant) if url else None

    return OAuthApp(
        spec=spec,
        client_id=client_id,
        client_secret=client_secret,
        is_shared=provider.is_shared,
        authorize_url=str(at(spec.authorize_url)),  # every built-in spec names both
        token_url=str(at(spec.token_url)),
        userinfo_url=spec.userinfo_url,
        jwks_url=at(spec.jwks_url),
        issuer=spec.issuer,
        id_token_algorithms=("RS256",),
        # Stack Auth's fixed public endpoints, not a project's choice: no address check.
        allow_private=True,
        extra_params=extra,
    )


def merged_scope(base: str, extra: str | None) -> str:
    """``base`` and the app's extra scopes, each once, in order."""
    return " ".join(dict.fromkeys([*base.split(), *(extra or "").split()]))


def authorization_url(
    app: OAuthApp,
    *,
    redirect_uri: str,
    state: str,
    code_verifier: str,
    nonce: str,
    extra_scope: str | None,
) -> str:
    """Where the browser goes to sign in at the provider: with our state, S256 PKCE (unless the
    provider refuses it) and, for OpenID Connect, a nonce."""
    params: dict[str, str] = dict(app.extra_params)
    if app.spec.pkce:
        params["code_challenge"] = create_s256_code_challenge(code_verifier)
        params["code_challenge_method"] = "S256"
    if app.spec.openid:
        params["nonce"] = nonce
    url: str = prepare_grant_uri(
        app.authorize_url,
        client_id=app.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=merged_scope(app.spec.scope, extra_scope),
        state=state,
        **params,
    )
    return url


async def fetch_key_set(url: str, *, allow_private: bool, fresh: bool = False) -> KeySet:
    """The key set at ``url`` (cached; ``fresh`` fetches it again: its keys were rotated)."""
    if fresh:
        _cache.pop((url, allow_private), None)
    document = await _fetch_json(url, allow_private=allow_private)
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, KeyError, TypeError):
        raise OAuthProviderUnavailable() from None


async def _id_token_claims(app: OAuthApp, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
    """The claims of the token response's ID token, after checking its signature (the provider's
    key set), ``iss``, ``aud``, ``nonce`` and times; empty when the provider sent none and none
    is needed. Raise InvalidProviderIdToken for any failed check."""
    raw = token.get("id_token")
    if not isinstance(raw, str) or app.jwks_url is None:
        if app.spec.needs_id_token:
            raise InvalidProviderIdToken()
        return {}
    keys = await fetch_key_set(app.jwks_url, allow_private=app.allow_private)
    try:
        try:
            decoded = jwt.decode(raw, keys, algorithms=app.id_token_algorithms)
        except InvalidKeyIdError:  # the provider rotated its keys since they were fetched
            keys = await fetch_key_set(app.jwks_url, allow_private=app.allow_private, fresh=True)
            decoded = jwt.decode(raw, keys, algorithms=app.id_token_algorithms)
        issuer = app.issuer or ""
        if "{tenantid}" in issuer:
            issuer = issuer.replace("{tenantid}", str(decoded.claims.get("tid", "")))
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": app.client_id},
            },
            {"nonce": nonce, "client_id": app.client_id, "access_token": token.get("access_token")},
        )
        claims.validate(leeway=LEEWAY_SECONDS)
    except JoseError:
        raise InvalidProviderIdToken() from None
    return dict(claims)


def tokens_of(app: OAuthApp, token: Mapping[str, Any], scope: str) -> ProviderTokens:
    """The tokens of a token response (its lifetime, else the provider's usual one)."""
    expires_at = token.get("expires_at")
    now = datetime.now(UTC)
    expiry = (
        datetime.fromtimestamp(expires_at, UTC)
        if isinstance(expires_at, int | float)
        else now + timedelta(seconds=app.spec.default_expires_in)
    )
    granted = token.get("scope")
    refresh = token.get("refresh_token")
    return ProviderTokens(
        access_token=str(token["access_token"]),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        access_token_expires_at=expiry,
        scopes=tuple((granted if isinstance(granted, str) else scope).split()),
    )


async def exchange(
    app: OAuthApp,
    *,
    redirect_uri: str,
    params: Mapping[str, str],
    state: str,
    code_verifier: str,
    nonce: str,
    extra_scope: str | None,
) -> tuple[ProviderProfile, ProviderTokens]:
    """Redeem the code the provider sent to our callback (``params``), check the ID token, and
    read who signed in.

    Raise OAUTH_PROVIDER_ACCESS_DENIED when the user declined, InnerOAuthCallbackFailed for a
    refused or mismatched code, InvalidProviderIdToken, and the provider errors.
    """
    error = params.get("error")
    if error is not None:
        raise OAuthProviderAccessDenied() if error in _DENIED else InnerOAuthCallbackFailed()
    # RFC 9207: a provider that names itself in the response must be the one we sent the user to.
    if "iss" in params and app.issuer and "{" not in app.issuer and params["iss"] != app.issuer:
        raise InnerOAuthCallbackFailed()
    scope = merged_scope(app.spec.scope, extra_scope)
    extra: dict[str, str] = {"code_verifier": code_verifier} if app.spec.pkce else {}
    if app.spec.scope_in_token_request:
        extra["scope"] = scope
    with provider_errors():
        async with app.client(redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    app.token_url,
                    authorization_response=f"{redirect_uri}?{urlencode(dict(params))}",
                    state=state,
                    **extra,
                )
            except AuthlibBaseError as exc:
                if exc.error in _DENIED:
                    raise OAuthProviderAccessDenied() from None
                raise InnerOAuthCallbackFailed() from None
            if not isinstance(token.get("access_token"), str):
                raise OAuthProviderUnavailable()
            claims = await _id_token_claims(app, token, nonce)
            source = ProfileSource(
                client, token["access_token"], claims, app.userinfo_url, app.client_id
            )
            found = await app.spec.read_profile(source)
    return found, tokens_of(app, token, scope)
