"""The OAuth2 token endpoint the SDK refreshes through (form-encoded, no Stack headers)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from litestar import Response, post

from authstack_api.auth import HttpRequest, authenticate_oauth_client
from authstack_api.inputs import check_json_value
from authstack_api.limits import limit
from authstack_api.responses import json_response
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


async def _form_fields(request: HttpRequest) -> dict[str, str]:
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


@post("/api/v1/auth/oauth/token", status_code=200)
async def token(deps: Deps, request: HttpRequest) -> Response[bytes]:
    """Refresh grant: a new access token for a live refresh token (which is not rotated)."""
    await limit(request, "token_refresh")
    fields = await _form_fields(request)
    grant_type = fields.get("grant_type")
    if grant_type != "refresh_token":
        return _oauth_error(
            "unsupported_grant_type", "Only the refresh_token grant is supported by this server."
        )
    missing = [f for f in ("client_id", "client_secret", "refresh_token") if not fields.get(f)]
    if missing:
        return _oauth_error("invalid_request", f"Missing parameter(s): {', '.join(missing)}")
    project = await authenticate_oauth_client(deps, fields["client_id"], fields["client_secret"])
    refresh_token = fields["refresh_token"]
    if len(refresh_token) > 256:
        raise RefreshTokenNotFoundOrExpired()
    access_token = await refresh_access_token(deps, project, refresh_token)
    return json_response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "legacy",
            "afterCallbackRedirectUrl": None,
            "after_callback_redirect_url": None,
        },
        headers=_NO_STORE,
    )
