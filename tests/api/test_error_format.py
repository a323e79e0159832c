"""Wire format of errors and the headers every response carries (contract §0, §2 CORS, §4)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.helpers import assert_known_error, sign_up, spell, unique_email
from tests.conftest import Project

SIGN_UP = "/api/v1/auth/password/sign-up"
CURRENT = "/api/v1/projects/current"


def test_known_error_header_equals_body_code_and_body_is_indented(
    http: httpx.Client, project: Project
) -> None:
    r = http.get(CURRENT, headers={"x-stack-access-type": "client"})
    assert r.headers["x-stack-known-error"] == r.json()["code"] == "ACCESS_TYPE_WITHOUT_PROJECT_ID"
    # Two-space indentation, keys in the contract's order.
    assert r.text.startswith('{\n  "code": "ACCESS_TYPE_WITHOUT_PROJECT_ID",\n  "details": {')
    assert list(r.json()) == ["code", "details", "error"]


def test_details_are_absent_for_errors_that_define_none(http: httpx.Client) -> None:
    r = http.get("/api/v1/users/me")
    body = assert_known_error(r, "ACCESS_TYPE_REQUIRED", 400)
    assert list(body) == ["code", "error"]


@pytest.mark.parametrize("prefix", ["x-stack-", "x-hexclave-"])
def test_override_error_status_answers_200_with_actual_status(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    headers = spell(project.headers("server", **{"x-stack-override-error-status": "true"}), prefix)
    r = http.get("/api/v1/users/00000000-0000-4000-8000-000000000000", headers=headers)
    assert r.status_code == 200
    assert r.headers["x-stack-actual-status"] == "404"
    assert r.headers["x-stack-known-error"] == "USER_NOT_FOUND"
    assert r.json()["code"] == "USER_NOT_FOUND"


def test_override_error_status_leaves_successes_alone(http: httpx.Client, project: Project) -> None:
    headers = project.headers("server", **{"x-stack-override-error-status": "true"})
    r = http.get(CURRENT, headers=headers)
    assert r.status_code == 200
    assert "x-stack-actual-status" not in r.headers


def test_without_override_the_real_status_is_sent(http: httpx.Client, project: Project) -> None:
    r = http.get(
        "/api/v1/users/00000000-0000-4000-8000-000000000000", headers=project.headers("server")
    )
    assert r.status_code == 404
    assert "x-stack-actual-status" not in r.headers


def test_unknown_body_field_is_schema_error_with_message(
    http: httpx.Client, project: Project
) -> None:
    r = http.post(
        SIGN_UP,
        headers=project.headers(),
        json={"email": unique_email(), "password": "long-enough-1", "favourite_colour": "red"},
    )
    body = assert_known_error(r, "SCHEMA_ERROR", 400)
    message = body["details"]["message"]
    assert message.startswith("Request validation failed on POST /api/v1/auth/password/sign-up")
    assert "favourite_colour" in message
    assert body["error"] == message


def test_missing_required_body_field_is_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.post(SIGN_UP, headers=project.headers(), json={"email": unique_email()})
    body = assert_known_error(r, "SCHEMA_ERROR", 400)
    assert "password" in body["details"]["message"]


def test_wrong_body_type_is_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.post(SIGN_UP, headers=project.headers(), json={"email": 12, "password": "x" * 10})
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_unknown_query_parameter_is_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.get(f"{CURRENT}?surprise=1", headers=project.headers())
    body = assert_known_error(r, "SCHEMA_ERROR", 400)
    assert "surprise" in body["details"]["message"]


@pytest.mark.parametrize(
    "content", [b'{"email": "a@example.com", "password": ', b"not json", b'{"email": }']
)
def test_malformed_json_is_body_parsing_error(
    http: httpx.Client, project: Project, content: bytes
) -> None:
    r = http.post(
        SIGN_UP, headers={**project.headers(), "content-type": "application/json"}, content=content
    )
    assert_known_error(r, "BODY_PARSING_ERROR", 400)


def test_unsupported_content_type_is_body_parsing_error(
    http: httpx.Client, project: Project
) -> None:
    r = http.post(
        SIGN_UP,
        headers={**project.headers(), "content-type": "application/xml"},
        content=b"<email>a@example.com</email>",
    )
    assert_known_error(r, "BODY_PARSING_ERROR", 400)


def test_oversized_body_is_refused_with_a_client_error(
    http: httpx.Client, project: Project
) -> None:
    payload = json.dumps(
        {"email": unique_email(), "password": "long-enough-1", "pad": "x" * (2 * 1024 * 1024)}
    )
    r = http.post(
        SIGN_UP,
        headers={**project.headers(), "content-type": "application/json"},
        content=payload.encode(),
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert r.status_code != 404


def _assert_common_headers(r: httpx.Response) -> None:
    assert r.headers.get("x-stack-request-id"), r.headers
    assert r.headers["access-control-allow-origin"] == "*"
    assert "PATCH" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"]
    for name in ("x-stack-access-token", "x-hexclave-access-token", "x-stack-project-id"):
        assert name in allowed
    assert "x-stack-known-error" in r.headers["access-control-expose-headers"]
    assert "x-stack-actual-status" in r.headers["access-control-expose-headers"]
    assert "server" not in r.headers
    assert "x-powered-by" not in r.headers


def test_every_kind_of_response_carries_the_common_headers(
    http: httpx.Client, project: Project
) -> None:
    responses = [
        http.get(CURRENT, headers=project.headers()),  # success
        http.get("/api/v1/users/me"),  # known error
        http.get("/api/v1/no/such/route"),  # 404 from the router
        http.request("OPTIONS", SIGN_UP),  # preflight
        http.get("/health"),
        http.get("/api/v1"),
    ]
    for r in responses:
        _assert_common_headers(r)
        assert r.headers["cache-control"] == "no-store, max-age=0", r.url
    ids = {r.headers["x-stack-request-id"] for r in responses}
    assert len(ids) == len(responses)


def test_success_json_content_type(http: httpx.Client, project: Project) -> None:
    r = http.get(CURRENT, headers=project.headers())
    assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_jwks_is_publicly_cacheable(http: httpx.Client, project: Project) -> None:
    r = http.get(f"/api/v1/projects/{project.id}/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=3600"
    _assert_common_headers(r)


def test_options_preflight_is_200_and_empty(http: httpx.Client) -> None:
    r = http.request(
        "OPTIONS",
        "/api/v1/users/me",
        headers={
            "origin": "https://app.example.com",
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "x-hexclave-access-token",
        },
    )
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["access-control-max-age"] == "86400"


def test_latest_prefix_works_like_v1(http: httpx.Client, project: Project) -> None:
    v1 = http.get(CURRENT, headers=project.headers())
    latest = http.get("/api/latest/projects/current", headers=project.headers())
    assert latest.status_code == 200
    assert latest.json() == v1.json()
    r = http.post(
        "/api/latest/auth/password/sign-up",
        headers=project.headers(),
        json={"email": unique_email(), "password": "long-enough-1"},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_route_is_404(http: httpx.Client, method: str) -> None:
    r = http.request(method, "/api/v1/definitely/not/a/route")
    assert r.status_code == 404
    assert "x-stack-known-error" not in r.headers


def test_health_answers_ok(http: httpx.Client) -> None:
    r = http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    with_db = http.get("/health?db=1")
    assert with_db.json() == {"status": "ok", "db": "ok"}


def test_a_plain_domain_error_is_text_with_its_status_and_message(
    http: httpx.Client, project: Project
) -> None:
    """Errors without a known code: text/plain, no known-error header, the message as the body."""
    missing = "/api/v1/contact-channels/me/00000000-0000-4000-8000-000000000000"
    user = sign_up(http, project)
    headers = project.headers(**{"x-stack-access-token": user["access_token"]})
    for method, status in (("GET", 404), ("DELETE", 400)):
        r = http.request(method, missing, headers=headers)
        assert (r.status_code, r.content) == (status, b"Contact channel not found.")
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert "x-stack-known-error" not in r.headers
