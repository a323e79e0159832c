"""A tiny OpenID provider that lies in its ID tokens, one lie per path prefix; and Apple's key
set, for ID tokens made here as Apple would sign them for a native app.

The real provider (``provider/server.js``) never issues a bad ID token, so the attacks on ID-token
validation need an issuer that does. ``http://127.0.0.1:<port>/<mode>`` is an issuer of its own
for each mode: discovery, an authorization endpoint that approves at once (back to the callback
with a code and the state), a token endpoint answering with an ID token shaped by the mode, its
key set and a userinfo endpoint. ``honest`` tells the truth, so a test can show that the same
flow succeeds when nothing lies, and that each refusal is the ID-token check's doing.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.factories import serving

SUBJECT = "rogue-subject@example.com"
APPLE_ISSUER = "https://appleid.apple.com"
MODES = ("honest", "wrong-aud", "wrong-iss", "wrong-nonce", "missing-nonce", "bad-signature",
         "expired")  # fmt: skip
_KEY = RSAKey.generate_key(2048, parameters={"kid": "rogue-key", "alg": "RS256", "use": "sig"})
# Another key under the same kid: its signatures do not verify against the published set.
_IMPOSTOR = RSAKey.generate_key(2048, parameters={"kid": "rogue-key", "alg": "RS256"})


def signed(mode: str, claims: dict[str, Any]) -> str:
    """``claims`` signed with the issuer's key, after telling the lie ``mode`` names."""
    claims = dict(claims)
    now = int(time.time())
    if mode == "wrong-aud":
        # Issued to another client, naming us as the authorized party: only ``aud`` tells.
        claims.update(aud="some-other-client", azp=claims["aud"])
    elif mode == "wrong-iss":
        claims["iss"] += "-impostor"
    elif mode == "wrong-nonce":
        claims["nonce"] = "not-the-nonce-that-was-sent"
    elif mode == "missing-nonce":
        del claims["nonce"]
    elif mode == "expired":
        claims.update(iat=now - 7200, exp=now - 3600)
    key = _IMPOSTOR if mode == "bad-signature" else _KEY
    return jwt.encode({"alg": "RS256", "kid": "rogue-key"}, claims, key)


def _fresh(issuer: str, subject: str, audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + 300}


def _id_token(mode: str, issuer: str, client_id: str, nonce: str | None) -> str:
    return signed(mode, {**_fresh(issuer, SUBJECT, client_id), "nonce": nonce})


def apple_id_token(bundle_id: str, subject: str, mode: str = "honest", **claims: Any) -> str:
    """An ID token as Apple signs one for an app (``aud`` its bundle id), with the lie ``mode``
    names; its keys are served at ``<base>/apple/keys``."""
    return signed(mode, {**_fresh(APPLE_ISSUER, subject, bundle_id), **claims})


class _Handler(BaseHTTPRequestHandler):
    server: _RogueServer

    def log_message(self, format: str, *args: Any) -> None:  # the base signature
        pass

    def _send(self, status: int, body: Any = None, location: str | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str, str]:
        parts = urlsplit(self.path)
        _, mode, rest = parts.path.split("/", 2) if parts.path.count("/") >= 2 else ("", "", "")
        return mode, "/" + rest, parts.query

    def do_GET(self) -> None:
        if self.path == "/large":  # a document past any sane size (the transport's cap)
            self._send(200, "x" * (2 << 20))
            return
        if self.path == "/apple/keys":  # as Apple's key set (STACK_APPLE_JWKS_URL)
            self._send(200, {"keys": [_KEY.as_dict(private=False)]})
            return
        mode, path, query = self._route()
        if mode not in MODES:
            self._send(404, {"error": "unknown mode"})
            return
        issuer = f"{self.server.base}/{mode}"
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if path == "/.well-known/openid-configuration":
            self._send(200, {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            })  # fmt: skip
        elif path == "/authorize":
            code = secrets.token_urlsafe(16)
            self.server.codes[code] = (params["client_id"], params.get("nonce"))
            back = {"code": code, "state": params["state"]}
            self._send(302, location=f"{params['redirect_uri']}?{urlencode(back)}")
        elif path == "/jwks":
            self._send(200, {"keys": [_KEY.as_dict(private=False)]})
        elif path == "/userinfo":
            self._send(200, {"sub": SUBJECT, "email": SUBJECT, "email_verified": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        mode, path, _ = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        found = self.server.codes.pop(form.get("code", ""), None)
        if mode not in MODES or path != "/token" or found is None:
            self._send(400, {"error": "invalid_grant"})
            return
        client_id, nonce = found
        issuer = f"{self.server.base}/{mode}"
        self._send(200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": _id_token(mode, issuer, client_id, nonce),
        })  # fmt: skip


class _RogueServer(ThreadingHTTPServer):
    base: str
    codes: dict[str, tuple[str, str | None]]


@contextmanager
def rogue_issuer() -> Iterator[str]:
    """Serve the rogue issuers on a free loopback port; yields the base URL (add ``/<mode>``)."""
    server = _RogueServer(("127.0.0.1", 0), _Handler)
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.codes = {}
    with serving(server):
        yield server.base
