"""Sign-in with OAuth: ``/auth/oauth/authorize/{provider}`` and the provider's callback
(contract §5.2), and native Sign in with Apple. The token step is ``routes/oauth.py``; the flow
itself ``domain/oauth_flow``.

Authorize and callback take no Stack headers: authorize is authenticated by its ``client_id`` and
``client_secret`` (and an optional user ``token``), the callback by the flow's state and, in
redirect mode, its CSRF cookie. Both accept query parameters they do not list, as upstream does.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.params import Parameter
from msgspec import Meta

from authstack_api.auth import AnyAuth, HttpRequest, authenticate_oauth_client, verify_user_token
from authstack_api.limits import Limit
from authstack_api.responses import json_response
from authstack_api.routes.oauth import form_fields
from authstack_api.schemas import Strict
from authstack_core.domain import oauth_flow, oauth_native
from authstack_core.domain.context import Deps
from authstack_core.errors import OAuthTokenForAnotherProject
from authstack_core.oauth.apple import MAX_ID_TOKEN_LENGTH

Text = Annotated[str, Parameter(min_length=1, max_length=2048)]
# "state" and "scope" are names Litestar reserves for its own arguments.
State = Annotated[str, Parameter(query="state", min_length=1, max_length=2048)]
Scope = Annotated[str, Parameter(query="scope", min_length=1, max_length=2048)]
OptionalText = Annotated[str | None, Parameter(max_length=8192)]
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; the grammar allows up to 128.
Challenge = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9\-._~]{43,128}$")]

# The inner states this API makes (secrets.token_urlsafe); only such a state names a cookie.
_STATE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

AUTHORIZE = "/api/v1/auth/oauth/authorize/{provider_id:str}"
CALLBACK = "/api/v1/auth/oauth/callback/{provider_id:str}"


def _csrf_cookie(deps: Deps, inner_state: str, *, max_age: int) -> Cookie:
    # Secure (and then SameSite=None, so that a provider's form_post callback carries it too)
    # whenever the API is served over HTTPS; Lax on plain-HTTP development set-ups.
    secure = deps.settings.api_url.startswith("https://")
    return Cookie(
        key=oauth_flow.CSRF_COOKIE_PREFIX + inner_state,
        value="true",
        max_age=max_age,
        path="/",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )


@get(AUTHORIZE, opt={"limit": Limit("oauth_authorize"), "any_query": True}, status_code=200)
async def authorize(
    deps: Deps,
    provider_id: str,
    client_id: Text,
    client_secret: Text,
    redirect_uri: Text,
    oauth_scope: Scope,
    outer_state: State,
    grant_type: Literal["authorization_code"],
    code_challenge: Challenge,
    code_challenge_method: Literal["S256"],
    response_type: Literal["code"],
    flow_type: Annotated[Literal["authenticate", "link"], Parameter(query="type")] = "authenticate",
    token: OptionalText = None,
    provider_scope: OptionalText = None,
    error_redirect_url: OptionalText = None,
    error_redirect_uri: OptionalText = None,
    after_callback_redirect_url: OptionalText = None,
    stack_response_mode: Literal["json", "redirect"] = "redirect",
) -> Response[bytes]:
    """Send the browser to the provider (307), or answer ``{location}`` in JSON mode."""
    project = await authenticate_oauth_client(deps, client_id, client_secret)
    user_id = None
    if token:
        claims = verify_user_token(deps, token)
        if claims.project_id != project.id:
            raise OAuthTokenForAnotherProject()
        user_id = claims.user_id
    started = await oauth_flow.start(
        deps,
        project,
        client_id.partition("#")[2] or "main",
        oauth_flow.AuthorizeRequest(
            provider_id=provider_id,
            flow_type=flow_type,
            user_id=user_id,
            redirect_uri=redirect_uri,
            state=outer_state,
            code_challenge=code_challenge,
            error_redirect_url=error_redirect_uri or error_redirect_url,
            after_callback_redirect_url=after_callback_redirect_url,
            provider_scope=provider_scope,
            json_mode=stack_response_mode == "json",
        ),
    )
    if started.cookie_state is None:
        return json_response({"location": started.location})
    lifetime = int(oauth_flow.OUTER_FLOW_LIFETIME.total_seconds())
    return Response(
        b"",
        status_code=307,
        headers={"location": started.location},
        cookies=[_csrf_cookie(deps, started.cookie_state, max_age=lifetime)],
    )


async def _callback(deps: Deps, request: HttpRequest, provider_id: str) -> Response[bytes]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, value)
    if request.method == "POST":  # response_mode=form_post (Apple)
        for key, value in (await form_fields(request)).items():
            params.setdefault(key, value)
    state = params.get("state") or ""
    cookie_name = oauth_flow.CSRF_COOKIE_PREFIX + state
    location = await oauth_flow.complete(
        deps, provider_id, params, has_cookie=request.cookies.get(cookie_name) == "true"
    )
    cookies = [_csrf_cookie(deps, state, max_age=0)] if _STATE.match(state) else []
    return Response(b"", status_code=303, headers={"location": location}, cookies=cookies)


_CALLBACK_OPT = {"limit": Limit("oauth_callback"), "any_query": True}


@get(CALLBACK, opt=_CALLBACK_OPT, status_code=303)
async def callback(deps: Deps, request: HttpRequest, provider_id: str) -> Response[bytes]:
    """The provider's redirect back: 303 to the app's ``redirect_uri?code&state``."""
    return await _callback(deps, request, provider_id)


@post(CALLBACK, opt=_CALLBACK_OPT, status_code=303)
async def callback_form_post(deps: Deps, request: HttpRequest, provider_id: str) -> Response[bytes]:
    """The same, for providers that post their answer (``response_mode=form_post``)."""
    return await _callback(deps, request, provider_id)


class AppleIdToken(Strict):
    id_token: Annotated[str, Meta(min_length=1, max_length=MAX_ID_TOKEN_LENGTH)]


@post(CALLBACK.replace("{provider_id:str}", "apple/native"), opt=_CALLBACK_OPT, status_code=200)
async def apple_native(auth: AnyAuth, deps: Deps, data: AppleIdToken) -> Response[bytes]:
    """Sign in with the ID token an iOS or macOS app got from Apple (no browser flow)."""
    signed_in = await oauth_native.apple_sign_in(deps, auth.project, data.id_token)
    return json_response(signed_in.json())
