"""The OAuth2 token endpoint (form-encoded, no Stack headers): the SDK refreshes through it, and
redeems the authorization code of an OAuth sign-in (contract §3)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from litestar import Response, post

from authstack_api.auth import HttpRequest, authenticate_oauth_client
from authstack_api.inputs import check_json_value
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_core.domain import oauth_codes
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import refresh_access_token
from authstack_core.errors import (
    BodyParsingError,
    RefreshTokenNotFoundOrExpired,
)

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _oauth_error(error: str, description: str, status: int = 400) -> Response[bytes]:
    return json_response(
        {"error": error, "error_description": description}, status=status, headers=_NO_STORE
    )


async def form_fields(request: HttpRequest) -> dict[str, str]:
    """The urlencoded body as a flat dict (first value wins); JSON bodies are accepted too.

    Parsed directly: the token endpoint is the SDK's hottest call and Litestar's general form
    parser (multipart-capable) costs more than the whole refresh query.
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise BodyParsingError("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BodyParsingError("The request body must be an object.")
        strings = {k: v for k, v in data.items() if isinstance(v, str)}
        check_json_value(strings)
        return strings
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise BodyParsingError("The request body is not UTF-8.") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    check_json_value(fields)
    return fields


_TOKEN_FIELDS = {
    "refresh_token": ("client_id", "client_secret", "refresh_token"),
    "authorization_code": ("client_id", "client_secret", "code", "redirect_uri"),
}


@post("/api/v1/auth/oauth/token", status_code=200)
async def token(deps: Deps, request: HttpRequest) -> Response[bytes]:
    """The refresh grant (a new access token for a live refresh token, which is not rotated) and
    the authorization-code grant (the session of an OAuth sign-in, PKCE-checked)."""
    fields = await form_fields(request)
    grant_type = fields.get("grant_type")
    await limit(request, "token_refresh" if grant_type == "refresh_token" else "oauth_token")
    required = _TOKEN_FIELDS.get(grant_type or "")
    if required is None:
        return _oauth_error(
            "unsupported_grant_type",
            "Only the refresh_token and authorization_code grants are supported by this server.",
        )
    missing = [f for f in required if not fields.get(f)]
    if missing:
        return _oauth_error("invalid_request", f"Missing parameter(s): {', '.join(missing)}")
    project = await authenticate_oauth_client(deps, fields["client_id"], fields["client_secret"])
    body: dict[str, object] = {"token_type": "Bearer", "expires_in": 3600, "scope": "legacy"}
    if grant_type == "authorization_code":
        signed_in = await oauth_codes.redeem(
            deps,
            project,
            code=fields["code"],
            redirect_uri=fields["redirect_uri"],
            code_verifier=fields.get("code_verifier"),
        )
        return json_response({**body, **signed_in.json()}, headers=_NO_STORE)
    refresh_token = fields["refresh_token"]
    if len(refresh_token) > 256:
        raise RefreshTokenNotFoundOrExpired()
    access_token = await refresh_access_token(deps, project, refresh_token)
    return json_response(
        {
            "access_token": access_token,
            **body,
            "afterCallbackRedirectUrl": None,
            "after_callback_redirect_url": None,
        },
        headers=_NO_STORE,
    )
