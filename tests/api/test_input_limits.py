"""Hostile inputs get a 4xx in the contract's format, never a 500; oversized bodies a 413."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from authstack_api.inputs import MAX_JSON_DEPTH
from tests.api.helpers import as_user, assert_known_error, sign_up, unique_email
from tests.conftest import ApiServer, Project

SIGN_UP = "/api/v1/auth/password/sign-up"
JSON = {"content-type": "application/json"}


def test_nul_in_a_query_parameter_is_a_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.get("/api/v1/users", params={"query": "\x00"}, headers=project.headers("server"))
    body = assert_known_error(r, "SCHEMA_ERROR", 400)
    assert "query.query" in body["details"]["message"]


def test_nul_in_a_path_parameter_is_a_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.get("/api/v1/teams/%00", headers=project.headers("server"))
    assert_known_error(r, "SCHEMA_ERROR", 400)


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a\u0000b@example.com", "password": "long-enough-password"},
        {"email": "ab@example.com", "password": "long-enough\u0000password"},
    ],
)
def test_nul_in_a_json_string_is_a_schema_error(
    http: httpx.Client, project: Project, body: dict[str, Any]
) -> None:
    r = http.post(SIGN_UP, headers=project.headers(), json=body)
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_nul_in_metadata_keys_and_values_is_a_schema_error(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    for metadata in ({"k": "v\u0000"}, {"k\u0000": 1}, {"deep": [{"x": ["\u0000"]}]}):
        r = http.patch(
            "/api/v1/users/me",
            headers=as_user(project, tokens["access_token"]),
            json={"client_metadata": metadata},
        )
        assert_known_error(r, "SCHEMA_ERROR", 400)


def test_invalid_utf8_json_is_a_body_parsing_error(http: httpx.Client, project: Project) -> None:
    r = http.post(
        SIGN_UP,
        headers={**project.headers(), **JSON},
        content=b'{"email": "\xff\xfe@example.com", "password": "long-enough-password"}',
    )
    assert_known_error(r, "BODY_PARSING_ERROR", 400)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 100_000])
def test_deeply_nested_json_is_a_body_parsing_error(
    http: httpx.Client, project: Project, depth: int
) -> None:
    tokens = sign_up(http, project)
    body = b'{"client_metadata":' + b"[" * depth + b"]" * depth + b"}"
    r = http.patch(
        "/api/v1/users/me",
        headers={**as_user(project, tokens["access_token"]), **JSON},
        content=body,
    )
    assert_known_error(r, "BODY_PARSING_ERROR", 400)


def test_metadata_nested_up_to_the_limit_is_kept(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    nested: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH - 1):  # the body object itself is one level
        nested = [nested]
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, tokens["access_token"]),
        json={"client_metadata": nested},
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_metadata"] == nested


def test_oauth_token_endpoint_refuses_nul_and_deep_json(http: httpx.Client) -> None:
    r = http.post(
        "/api/v1/auth/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "a\x00", "client_secret": "b"},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    r = http.post("/api/v1/auth/oauth/token", headers=JSON, content=b"[" * 5000 + b"]" * 5000)
    assert_known_error(r, "BODY_PARSING_ERROR", 400)


def test_setting_a_password_as_a_deleted_user_is_user_not_found(
    http: httpx.Client, project: Project
) -> None:
    """The access token outlives its user by minutes; the user row is gone."""
    tokens = sign_up(http, project, unique_email())
    r = http.delete(f"/api/v1/users/{tokens['user_id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    r = http.post(
        "/api/v1/auth/password/set",
        headers=as_user(project, tokens["access_token"]),
        json={"password": "a-fresh-password-9"},
    )
    assert_known_error(r, "USER_NOT_FOUND", 404)


# --- oversized bodies: the client reads the 413 rather than a reset ---------------------------


def _post_raw(api: ApiServer, size: int, *, chunked: bool) -> tuple[str | None, bytes]:
    """Send a body of ``size`` bytes with Connection: close; (send error, response bytes)."""
    host, port = api.url.removeprefix("http://").split(":")
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (
        f"POST {SIGN_UP} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\n{framing}\r\n\r\n"
    )
    piece = b"x" * 65_536
    error = None
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head.encode())
        try:
            sent = 0
            while sent < size:
                part = piece[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError as exc:  # a reset while sending: what clients reported
            error = repr(exc)
        answer = b""
        try:
            while chunk := sock.recv(65_536):
                answer += chunk
        except OSError as exc:
            error = (error or "") + repr(exc)
    return error, answer


@pytest.mark.parametrize(
    ("size", "chunked"), [(2_200_000, False), (4_000_000, False), (3_000_000, True)]
)
def test_oversized_body_is_answered_413_while_the_client_still_sends(
    api: ApiServer, size: int, chunked: bool
) -> None:
    """Connection: close made the server close with unread bytes, so the kernel sent a reset."""
    error, answer = _post_raw(api, size, chunked=chunked)
    assert error is None
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert b"content-type: text/plain; charset=utf-8" in head
    assert body == b"Request Entity Too Large"
