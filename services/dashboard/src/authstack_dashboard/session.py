"""Cookies: the signed session, the CSRF secret and one-shot flash messages.

The session cookie holds only the admin's two tokens (signed, HttpOnly, SameSite=Lax): the
refresh token, so the dashboard can renew access, and the current short-lived access token, so
most pages need no refresh round trip. Nothing else about the admin is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "authstack_session"
CSRF_COOKIE = "authstack_csrf"
FLASH_COOKIE = "authstack_flash"
SESSION_MAX_AGE_S = 14 * 86_400
FLASH_MAX_AGE_S = 60
_CSRF_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")

FlashKind = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class Session:
    refresh_token: str
    access_token: str


@dataclass(frozen=True, slots=True)
class Flash:
    kind: FlashKind
    text: str


class Cookies:
    """Signing and checking of the dashboard's cookies with one secret."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self.secure = secure
        self._session = URLSafeTimedSerializer(secret, salt="authstack-dashboard/session")
        self._flash = URLSafeTimedSerializer(secret, salt="authstack-dashboard/flash")
        self._csrf_key = hashlib.sha256(b"authstack-dashboard/csrf\0" + secret.encode()).digest()

    # --- session ----------------------------------------------------------------------------
    def dump_session(self, session: Session) -> str:
        return self._session.dumps([session.refresh_token, session.access_token])

    def load_session(self, value: str | None) -> Session | None:
        data = _unsign(self._session, value, SESSION_MAX_AGE_S)
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not all(isinstance(x, str) and x for x in data)
        ):
            return None
        return Session(refresh_token=data[0], access_token=data[1])

    # --- CSRF: a random cookie, and forms carry an HMAC of it ------------------------------------
    @staticmethod
    def new_csrf_secret() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def valid_csrf_secret(value: str | None) -> bool:
        return bool(value and _CSRF_COOKIE_VALUE.match(value))

    def csrf_token(self, csrf_secret: str) -> str:
        return hmac.new(self._csrf_key, csrf_secret.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, csrf_secret: str | None, token: str | None) -> bool:
        if not self.valid_csrf_secret(csrf_secret) or not token:
            return False
        assert csrf_secret is not None
        return hmac.compare_digest(self.csrf_token(csrf_secret), token)

    # --- flash --------------------------------------------------------------------------------
    def dump_flash(self, flash: Flash) -> str:
        return self._flash.dumps([flash.kind, flash.text[:500]])

    def load_flash(self, value: str | None) -> Flash | None:
        data = _unsign(self._flash, value, FLASH_MAX_AGE_S)
        if isinstance(data, list) and len(data) == 2 and data[0] in ("ok", "error"):
            return Flash(data[0], str(data[1]))
        return None


def _unsign(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> Any:
    """A cookie's payload; None when the cookie is absent, forged or older than ``max_age`` s."""
    if not value:
        return None
    try:
        return serializer.loads(value, max_age=max_age)
    except BadSignature:
        return None


def safe_next(value: str | None, default: str = "/projects") -> str:
    """A local path to go to after sign-in; anything that could leave the site becomes default."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\\\r\n\t") or any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
