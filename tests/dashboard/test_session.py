"""The dashboard's session handling: token refresh through the API, sign-out, cookie signing."""

from __future__ import annotations

import httpx
import pytest

from authstack_dashboard.session import Cookies, Flash, Session, safe_next
from tests.conftest import ApiServer
from tests.dashboard.conftest import SESSION_SECRET, DashboardServer
from tests.dashboard.helpers import internal_client_headers, internal_tokens

COOKIES = Cookies(SESSION_SECRET, secure=False)


def admin_tokens(api: ApiServer) -> dict[str, str]:
    with api.client() as http:
        return internal_tokens(http)


def with_session(dashboard: DashboardServer, session: Session) -> httpx.Client:
    client = httpx.Client(base_url=dashboard.url, timeout=30)
    client.cookies.set("authstack_session", COOKIES.dump_session(session))
    return client


def test_an_expired_access_token_is_refreshed_through_the_api(
    api: ApiServer, dashboard: DashboardServer
) -> None:
    tokens = admin_tokens(api)
    # A session whose access token is unusable: the dashboard must refresh before calling the API.
    stale = Session(refresh_token=tokens["refresh_token"], access_token="expired.token.value")
    with with_session(dashboard, stale) as client:
        r = client.get("/projects")
        assert r.status_code == 200, r.text
        assert "Create a project" in r.text
        renewed = COOKIES.load_session(r.cookies.get("authstack_session"))
    assert renewed is not None
    assert renewed.refresh_token == tokens["refresh_token"]
    assert renewed.access_token.count(".") == 2
    assert renewed.access_token != stale.access_token


def test_a_revoked_session_sends_the_admin_back_to_sign_in(
    api: ApiServer, dashboard: DashboardServer
) -> None:
    tokens = admin_tokens(api)
    with api.client() as http:
        r = http.delete(
            "/api/v1/auth/sessions/current",
            headers=internal_client_headers(tokens["access_token"]),
        )
        assert r.status_code == 200
    stale = Session(refresh_token=tokens["refresh_token"], access_token="expired.token.value")
    with with_session(dashboard, stale) as client:
        r = client.get("/projects/internal/users")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=/projects/internal/users"


def test_a_tampered_session_cookie_is_ignored(dashboard: DashboardServer) -> None:
    forged = Cookies("another-secret-of-at-least-32-characters!", secure=False)
    with httpx.Client(base_url=dashboard.url) as client:
        client.cookies.set("authstack_session", forged.dump_session(Session("r", "a.b.c")))
        r = client.get("/projects")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in")


def test_pages_send_strict_security_headers(dashboard: DashboardServer) -> None:
    with httpx.Client(base_url=dashboard.url) as client:
        r = client.get("/sign-in")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    csrf = r.cookies.get("authstack_csrf")
    assert csrf
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=lax" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/projects/abc/users?q=x", "/projects/abc/users?q=x"),
        ("/", "/"),
        (None, "/projects"),
        ("", "/projects"),
        ("//evil.example", "/projects"),
        ("/\\evil.example", "/projects"),
        ("https://evil.example/", "/projects"),
        ("javascript:alert(1)", "/projects"),
        ("/ok\r\nSet-Cookie: x=1", "/projects"),
        ("projects", "/projects"),
    ],
)
def test_next_after_sign_in_is_always_a_local_path(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_cookie_values_are_signed_and_checked() -> None:
    cookies = Cookies("a" * 32, secure=True)
    session = Session("refresh-token", "access.token.x")
    assert cookies.load_session(cookies.dump_session(session)) == session
    assert cookies.load_session(cookies.dump_session(session) + "x") is None
    assert cookies.load_session("garbage") is None
    assert Cookies("b" * 32, secure=True).load_session(cookies.dump_session(session)) is None
    flash = Flash("error", "Nope")
    assert cookies.load_flash(cookies.dump_flash(flash)) == flash
    secret = cookies.new_csrf_secret()
    token = cookies.csrf_token(secret)
    assert cookies.check_csrf(secret, token)
    assert not cookies.check_csrf(secret, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not cookies.check_csrf(cookies.new_csrf_secret(), token)
    assert not cookies.check_csrf(None, token)
    assert not cookies.check_csrf(secret, None)
