"""The dashboard's only way to data: HTTP calls to the API, as Stack's own dashboard makes them."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from authstack_core.settings import DashboardSettings

INTERNAL_PROJECT = "internal"
PUBLIC_CLIENT_SECRET = "__stack_public_client__"
# Codes meaning "your sign-in is gone": the dashboard sends the admin back to the sign-in page.
SIGNED_OUT_CODES = frozenset(
    {
        "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
        "UNPARSABLE_ADMIN_ACCESS_TOKEN",
        "UNPARSABLE_ACCESS_TOKEN",
        "INVALID_OAUTH_CLIENT_ID_OR_SECRET",
    }
)
EXPIRED_CODES = frozenset({"ADMIN_ACCESS_TOKEN_EXPIRED", "ACCESS_TOKEN_EXPIRED"})


class ApiError(Exception):
    """An API answer other than 2xx, kept as the contract's code and human-readable message."""

    def __init__(
        self, status: int, message: str, code: str | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str


def token_expiry(access_token: str) -> float:
    """The ``exp`` of a JWT, read without verifying it (the API verifies; this only schedules
    the refresh). An unreadable token counts as expired."""
    try:
        payload = access_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(data["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


def token_claims(access_token: str) -> dict[str, Any]:
    """The unverified claims of a JWT, for display only (e.g. the signed-in email)."""
    try:
        payload = access_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_expiring(access_token: str, margin_s: float = 30.0) -> bool:
    return token_expiry(access_token) - margin_s <= time.time()


class ApiClient:
    """Calls the API: client requests on ``internal`` and admin requests on any project."""

    def __init__(self, settings: DashboardSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    def _internal_headers(self) -> dict[str, str]:
        headers = {"x-stack-access-type": "client", "x-stack-project-id": INTERNAL_PROJECT}
        if self.settings.publishable_client_key:
            headers["x-stack-publishable-client-key"] = self.settings.publishable_client_key
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        url = f"{self.settings.api_url}/api/v1{path}"
        try:
            response = await self.http.request(
                method, url, headers=headers, json=json_body, params=params, data=form
            )
        except httpx.HTTPError:
            raise ApiError(
                502,
                "The API could not be reached. Check that it is running and that "
                "STACK_DASHBOARD_API_URL points at it.",
                "API_UNREACHABLE",
            ) from None
        if response.status_code < 400:
            return response.json() if response.content else None
        raise _error_of(response)

    # --- the internal project: sign-in, sessions, the signed-in admin's projects ---------------
    async def sign_in(self, email: str, password: str) -> Tokens:
        data = await self._send(
            "POST",
            "/auth/password/sign-in",
            self._internal_headers(),
            json_body={"email": email, "password": password},
        )
        return Tokens(data["access_token"], data["refresh_token"])

    async def mfa_sign_in(self, attempt_code: str, totp: str) -> Tokens:
        """Complete a sign-in that answered MULTI_FACTOR_AUTHENTICATION_REQUIRED."""
        data = await self._send(
            "POST",
            "/auth/mfa/sign-in",
            self._internal_headers(),
            json_body={"type": "totp", "totp": totp, "code": attempt_code},
        )
        return Tokens(data["access_token"], data["refresh_token"])

    async def refresh(self, refresh_token: str) -> str:
        """A new access token for the session (the refresh token is not rotated)."""
        data = await self._send(
            "POST",
            "/auth/oauth/token",
            {},
            form={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": INTERNAL_PROJECT,
                "client_secret": self.settings.publishable_client_key or PUBLIC_CLIENT_SECRET,
            },
        )
        token: str = data["access_token"]
        return token

    async def sign_out(self, access_token: str) -> None:
        headers = {**self._internal_headers(), "x-stack-access-token": access_token}
        await self._send("DELETE", "/auth/sessions/current", headers)

    async def internal(
        self, method: str, path: str, access_token: str, *, json_body: Any = None
    ) -> Any:
        """A client request on ``internal`` as the signed-in admin (``int-user`` routes)."""
        headers = {**self._internal_headers(), "x-stack-access-token": access_token}
        return await self._send(method, path, headers, json_body=json_body)

    # --- any project, with the admin access token ------------------------------------------------
    async def admin(
        self,
        method: str,
        path: str,
        project_id: str,
        access_token: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        headers = {
            "x-stack-access-type": "admin",
            "x-stack-project-id": project_id,
            "x-stack-admin-access-token": access_token,
        }
        return await self._send(method, path, headers, json_body=json_body, params=params)


def _error_of(response: httpx.Response) -> ApiError:
    code = response.headers.get("x-stack-known-error")
    if code:
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = body.get("error") if isinstance(body, dict) else None
        return ApiError(
            response.status_code,
            str(message or code),
            code,
            body.get("details") if isinstance(body, dict) else None,
        )
    text = response.text.strip()
    if response.status_code >= 500 or not text:
        text = f"The API answered with an error (HTTP {response.status_code})."
    elif response.headers.get("content-type", "").startswith("application/json"):
        try:
            body = response.json()
            text = str(body.get("error_description") or body.get("error") or text)
        except (ValueError, AttributeError):
            pass
    return ApiError(response.status_code, text[:500])
