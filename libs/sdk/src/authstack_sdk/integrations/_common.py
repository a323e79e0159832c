"""Where a request carries its access token, and the error body the integrations answer with."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from authstack_sdk.token_errors import TokenVerificationError

ACCESS_TOKEN_HEADER = "x-stack-access-token"
# What the JS SDK's `user.getAuthHeaders()` produces: {"x-stack-auth": '{"accessToken": ...}'}.
AUTH_JSON_HEADER = "x-stack-auth"
# The JS SDK's cookie token store: `hexclave-access` since 2.8.108, `stack-access` before (and
# still read). The value is JSON `["<refresh token>", "<access token>"]`, usually percent-encoded.
ACCESS_TOKEN_COOKIES = ("hexclave-access", "stack-access")


def access_token_from(
    header: Callable[[str], str | None], cookies: Mapping[str, str]
) -> str | None:
    """The request's access token, looked for in this order: the ``x-stack-access-token`` header,
    ``Authorization: Bearer``, the ``x-stack-auth`` JSON header, then the JS SDK's cookies."""
    token = header(ACCESS_TOKEN_HEADER)
    if token:
        return token.strip()
    authorization = header("authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    auth_json = header(AUTH_JSON_HEADER)
    if auth_json:
        token = _access_token_of_auth_json(auth_json)
        if token:
            return token
    for name in ACCESS_TOKEN_COOKIES:
        value = cookies.get(name)
        if value:
            token = access_token_from_cookie(value)
            if token:
                return token
    return None


def _access_token_of_auth_json(value: str) -> str | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    token = parsed.get("accessToken") if isinstance(parsed, dict) else None
    return token if isinstance(token, str) and token else None


def access_token_from_cookie(value: str) -> str | None:
    """The access token in a JS SDK access cookie: JSON ``[refresh, access]`` (percent-encoded
    or not), or a bare token."""
    text = value.strip().strip('"')
    if text[:3].lower() == "%5b":
        text = unquote(text)
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if isinstance(parsed, list) and len(parsed) == 2 and isinstance(parsed[1], str):
            return parsed[1] or None
        return None
    return text if text.count(".") == 2 else None


def error_body(error: TokenVerificationError) -> dict[str, Any]:
    """The contract's error shape: ``{code, error}``."""
    return {"code": error.code, "error": str(error)}


def error_headers(error: TokenVerificationError) -> dict[str, str]:
    return {"x-stack-known-error": error.code}
