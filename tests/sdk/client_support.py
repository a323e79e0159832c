"""Fixtures and helpers of the SDK client tests: an API of their own, a project per test, and
the app under test in either face (``sync`` or ``async``) behind one awaitable interface."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from authstack_sdk import AsyncStackServerApp, StackServerApp
from tests.conftest import ApiServer, running_api
from tests.factories import Project, create_project

# Sending is the worker's job; these tests only queue mail, so nothing listens on this port.
CUSTOM_EMAIL_SERVER = {
    "emails.server": {
        "isShared": False,
        "provider": "smtp",
        "host": "127.0.0.1",
        "port": 2525,
        "senderEmail": "hello@project.test",
        "senderName": "SDK tests",
    }
}
PROJECT_CONFIG = {
    "apiKeys.enabled.user": True,
    "apiKeys.enabled.team": True,
    "rbac.permissions.read_reports": {"scope": "team", "containedPermissionIds": {}},
    "rbac.permissions.manage_reports": {
        "scope": "team",
        "containedPermissionIds": {"read_reports": True},
    },
    "rbac.permissions.billing": {"scope": "project", "containedPermissionIds": {}},
    **CUSTOM_EMAIL_SERVER,
}


@pytest.fixture(scope="session")
def sdk_api(migrated_database: str) -> Iterator[ApiServer]:
    """An API for the SDK tests alone (no ClickHouse or S3 needed), without per-IP limits."""
    with running_api(migrated_database, STACK_RATE_LIMIT_ENABLED="false") as server:
        yield server


@pytest.fixture
def sdk_project(migrated_database: str) -> Project:
    """A fresh project with API keys on, two custom team permissions (``manage_reports``
    contains ``read_reports``), a project permission ``billing`` and its own email server."""
    return create_project(migrated_database, PROJECT_CONFIG)


class Face:
    """The app under test, sync or async, called the same way: ``await face.call("get_user",
    id)`` and ``await face.collect(face.app.iter_users(...))``."""

    def __init__(self, app: StackServerApp | AsyncStackServerApp) -> None:
        self.app = app
        self.is_async = isinstance(app, AsyncStackServerApp)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.app, method)(*args, **kwargs)
        if self.is_async:
            assert inspect.isawaitable(result), f"{method} of the async face must be awaited"
            return await result
        assert not inspect.isawaitable(result), f"{method} of the sync face must not be awaited"
        return result

    async def __aenter__(self) -> Face:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if isinstance(self.app, AsyncStackServerApp):
            await self.app.aclose()
        else:
            self.app.close()

    async def collect(self, items: Any) -> list[Any]:
        if self.is_async:
            return [item async for item in items]
        return list(items)


def make_app(kind: str, base_url: str, project: Project, **options: Any) -> Any:
    """The app of ``kind`` (``sync`` or ``async``) for ``project`` at ``base_url``."""
    cls = AsyncStackServerApp if kind == "async" else StackServerApp
    return cls(base_url, project.id, project.secret_server_key, **options)


@pytest.fixture(params=["sync", "async"])
async def face(
    request: pytest.FixtureRequest, sdk_api: ApiServer, sdk_project: Project
) -> AsyncIterator[Face]:
    """The SDK app for ``sdk_project``, once per face."""
    app = Face(make_app(request.param, sdk_api.url, sdk_project))
    try:
        yield app
    finally:
        await app.close()


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def client_get_me(api: ApiServer, project: Project, access_token: str) -> httpx.Response:
    """``GET /users/me`` as a client signed in with ``access_token``."""
    with api.client() as http:
        return http.get(
            "/api/v1/users/me",
            headers=project.headers("client", **{"x-stack-access-token": access_token}),
        )
