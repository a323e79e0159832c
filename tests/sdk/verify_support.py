"""Shared by the SDK verification tests: an API whose token issuer is its own URL, a counting
proxy in front of it, and users signed up through the real API."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import ApiServer, start_api, stop_api
from tests.factories import Project, free_port, serving

PASSWORD = "correct-horse-battery-staple-1"
# A second server secret: an API started with it signs with other keys (a key rotation).
ROTATED_SECRET = "cm90YXRlZC1zZXJ2ZXItc2VjcmV0LWZvci1zZGstdGVzdHM"


def start_api_issuing_own_url(database_url: str, **extra_env: str) -> ApiServer:
    """An API whose tokens name its real URL as issuer (NEXT_PUBLIC_STACK_API_URL), as in a
    deployment; per-IP rate limits off (many sign-ups from 127.0.0.1); a small database pool
    (light traffic, and the machine's PostgreSQL is shared)."""
    port = free_port()
    env = {
        "NEXT_PUBLIC_STACK_API_URL": f"http://127.0.0.1:{port}",
        "STACK_RATE_LIMIT_ENABLED": "false",
        "STACK_DB_POOL_MAX_SIZE": "4",
        **extra_env,
    }
    return start_api(database_url, port=port, **env)


@contextmanager
def api_issuing_own_url(database_url: str, **extra_env: str) -> Iterator[ApiServer]:
    server = start_api_issuing_own_url(database_url, **extra_env)
    try:
        yield server
    finally:
        stop_api(server)


@dataclass
class SignedIn:
    user_id: str
    access_token: str
    refresh_token: str


def sign_up(api: ApiServer, project: Project, email: str | None = None) -> SignedIn:
    """A new password user of ``project``, signed up through the API's client route."""
    email = email or f"sdk-{secrets.token_hex(6)}@example.com"
    with api.client() as http:
        r = http.post(
            "/api/v1/auth/password/sign-up",
            headers=project.headers(),
            json={"email": email, "password": PASSWORD},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    return SignedIn(body["user_id"], body["access_token"], body["refresh_token"])


def sign_up_anonymous(api: ApiServer, project: Project) -> SignedIn:
    with api.client() as http:
        r = http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    return SignedIn(body["user_id"], body["access_token"], body["refresh_token"])


class CountingProxy:
    """A real HTTP proxy in front of an API: counts the requests per path, optionally delays
    them (a slow network makes concurrent callers overlap), and can be pointed at another
    upstream (the server's keys rotated)."""

    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay
        self._lock = threading.Lock()
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with proxy._lock:
                    proxy.paths.append(self.path.split("?")[0])
                    upstream = proxy.upstream
                time.sleep(proxy.delay)
                with httpx.Client(timeout=30) as http:
                    r = http.get(upstream + self.path)
                self.send_response(r.status_code)
                self.send_header("content-type", r.headers.get("content-type", "text/plain"))
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def jwks_fetches(self) -> int:
        with self._lock:
            return sum(1 for p in self.paths if p.endswith("/.well-known/jwks.json"))


@contextmanager
def counting_proxy(upstream: str, *, delay: float = 0.0) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream, delay=delay)
    with serving(proxy.server):
        yield proxy


@pytest.fixture(scope="module")
def issuing_api(migrated_database: str) -> Iterator[ApiServer]:
    """This module's API, issuing tokens in its own name."""
    with api_issuing_own_url(migrated_database) as server:
        yield server
