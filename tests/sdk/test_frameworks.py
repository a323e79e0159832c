"""The SDK's FastAPI, Django and Flask examples (libs/sdk/examples), each run as a real server
against a live API: 401 without a token or with a bad one, 200 with a token from the official
JS SDK's password sign-in, sent the ways a JS app sends it (header, ``getAuthHeaders()``,
cookie)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ApiServer, ensure_node_modules
from tests.factories import Project, create_project, free_port, stop_process, wait_healthy
from tests.sdk.verify_support import PASSWORD, issuing_api, sign_up, sign_up_anonymous

__all__ = ["issuing_api"]  # the module's fixture, imported

EXAMPLES = Path(__file__).resolve().parents[2] / "libs" / "sdk" / "examples"
SDK_DIR = Path(__file__).resolve().parents[1] / "e2e" / "sdk"
SDK_PACKAGES = {"2.8.108": "@stackframe/js", "2.8.102": "stackframe-js-2-8-102"}
# How each example is served: its own `python <example>.py`, and Django also under ASGI (the
# middleware's async path).
SERVE = {
    "fastapi": ["fastapi_app.py"],
    "django": ["django_app.py"],
    "django-asgi": ["-m", "uvicorn", "django_app:asgi_application", "--port", "{port}"],
    "flask": ["flask_app.py"],
}
NODE_TIMEOUT_S = 60


def _installed(package: str) -> str | None:
    try:
        manifest = SDK_DIR / "node_modules" / package / "package.json"
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


@pytest.fixture(scope="module")
def sdk_project(migrated_database: str) -> Project:
    return create_project(migrated_database)


@pytest.fixture(scope="module")
def js_sign_ins(issuing_api: ApiServer, sdk_project: Project) -> dict[str, dict[str, Any]]:
    """Per JS SDK version: a password user signed in by the SDK itself (sign-in.js), with the
    tokens and auth headers the SDK hands an app."""
    ensure_node_modules(
        SDK_DIR,
        lambda: all(_installed(p) == v for v, p in SDK_PACKAGES.items()),
        "the Python SDK's framework tests (tokens minted by the JS SDK)",
    )
    sessions = {}
    for version, package in SDK_PACKAGES.items():
        email = f"js-sdk-{version.replace('.', '-')}@example.com"
        user = sign_up(issuing_api, sdk_project, email=email)
        done = subprocess.run(
            ["node", "python-sdk/sign-in.js"],
            cwd=SDK_DIR,
            env={
                **os.environ,
                "SDK_PACKAGE": package,
                "AUTHSTACK_API_URL": issuing_api.url,
                "AUTHSTACK_PROJECT_ID": sdk_project.id,
                "AUTHSTACK_PUBLISHABLE_CLIENT_KEY": sdk_project.publishable_client_key,
                "SIGN_IN_EMAIL": email,
                "SIGN_IN_PASSWORD": PASSWORD,
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"sign-in.js ({version}):\n{done.stdout}\n{done.stderr}"
        session: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        assert session["userId"] == user.user_id
        assert session["accessToken"] != user.access_token  # a new session, the SDK's own
        sessions[version] = session
    return sessions


@pytest.fixture(scope="module", params=list(SERVE))
def example(
    request: pytest.FixtureRequest, issuing_api: ApiServer, sdk_project: Project
) -> Iterator[str]:
    """A ``libs/sdk/examples/<framework>_app.py`` serving on a free port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *(arg.format(port=port) for arg in SERVE[request.param])],
        cwd=EXAMPLES,
        env={
            **os.environ,
            "PORT": str(port),
            "STACK_API_URL": issuing_api.url,
            "STACK_PROJECT_ID": sdk_project.id,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, f"{url}/", f"the {request.param} example")
    try:
        yield url
    finally:
        stop_process(process)


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    code: str = (body.get("detail") or body)["code"]  # FastAPI nests it under "detail"
    assert response.headers["x-stack-known-error"] == code
    return code


def test_answers_401_without_a_token(example: str) -> None:
    assert httpx.get(f"{example}/").status_code == 200
    r = httpx.get(f"{example}/me")
    assert r.status_code == 401, r.text
    assert _error_code(r) == "USER_AUTHENTICATION_REQUIRED"


@pytest.mark.parametrize("version", SDK_PACKAGES)
def test_answers_200_with_the_js_sdk_access_token(
    example: str, js_sign_ins: dict[str, dict[str, Any]], version: str
) -> None:
    session = js_sign_ins[version]
    r = httpx.get(f"{example}/me", headers={"x-stack-access-token": session["accessToken"]})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == session["userId"]


def test_accepts_the_js_sdk_auth_headers_and_cookies(
    example: str, js_sign_ins: dict[str, dict[str, Any]]
) -> None:
    session = js_sign_ins["2.8.108"]
    r = httpx.get(f"{example}/me", headers=session["authHeaders"])
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == session["userId"]
    r = httpx.get(f"{example}/me", headers={"authorization": f"Bearer {session['accessToken']}"})
    assert r.json()["user_id"] == session["userId"]
    # The JS SDK's cookie token store: JSON [refresh, access], percent-encoded by the browser
    # side, under its 2.8.108 name and its older one.
    value = quote(json.dumps([session["refreshToken"], session["accessToken"]]), safe="")
    for name in ("hexclave-access", "stack-access"):
        r = httpx.get(f"{example}/me", headers={"cookie": f"{name}={value}"})
        assert r.status_code == 200, f"{name}: {r.text}"
        assert r.json()["user_id"] == session["userId"]


def test_answers_401_with_a_bad_token(
    example: str,
    js_sign_ins: dict[str, dict[str, Any]],
    issuing_api: ApiServer,
    sdk_project: Project,
) -> None:
    token = js_sign_ins["2.8.108"]["accessToken"]
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    r = httpx.get(f"{example}/me", headers={"x-stack-access-token": tampered})
    assert r.status_code == 401, r.text
    assert _error_code(r) == "UNPARSABLE_ACCESS_TOKEN"
    r = httpx.get(f"{example}/me", headers={"x-stack-access-token": "garbage"})
    assert r.status_code == 401
    anonymous = sign_up_anonymous(issuing_api, sdk_project)
    r = httpx.get(f"{example}/me", headers={"x-stack-access-token": anonymous.access_token})
    assert r.status_code == 401
    assert _error_code(r) == "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED"
