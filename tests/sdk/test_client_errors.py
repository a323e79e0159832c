"""How the SDK reports failures: typed known errors, plain HTTP errors, no answer at all; and
that every known error the server can send has its class."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest

from authstack_core.errors import KnownError
from authstack_sdk import StackError, StackServerApp, errors
from authstack_sdk._core import CLIENT_VERSION
from tests.conftest import ApiServer
from tests.factories import Project, free_port
from tests.sdk.client_support import Face, make_app


def _all_known_errors() -> list[type[KnownError]]:
    found, todo = [], [KnownError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "code" in cls.__dict__ and not inspect.isabstract(cls):
            found.append(cls)
    return found


def test_every_code_the_server_sends_has_a_class_with_its_status() -> None:
    served = _all_known_errors()
    assert len(served) > 50
    for known in served:
        cls = errors.error_class(known.code)
        assert cls is not StackError, f"no SDK class for {known.code}"
        assert cls.code == known.code
        assert cls.default_status == known.status, known.code


def test_families_catch_their_members() -> None:
    assert issubclass(errors.InvalidSecretServerKey, errors.InvalidProjectAuthentication)
    assert issubclass(errors.AccessTokenExpired, errors.InvalidAccessToken)
    assert issubclass(errors.ApiKeyRevoked, errors.ApiKeyNotValid)
    assert issubclass(errors.PasswordTooShort, errors.PasswordRequirementsNotMet)
    unknown = errors.known_error("SOMETHING_NEWER", "x", status=418, details={"a": 1})
    assert type(unknown) is StackError
    assert (unknown.code, unknown.status, unknown.details) == ("SOMETHING_NEWER", 418, {"a": 1})


def test_errors_survive_pickling_whole() -> None:
    """Task queues and process pools carry exceptions between processes by pickling."""
    error = errors.known_error(
        "TEAM_NOT_FOUND", "Team not found.", status=404, details={"team_id": "t"}
    )
    limited = errors.StackRateLimitError("slow down", status=429, retry_after=2.0)
    for original in (error, limited, errors.StackConnectionError("refused")):
        copy = pickle.loads(pickle.dumps(original))  # noqa: S301  # our own bytes
        assert type(copy) is type(original)
        assert (copy.code, copy.status, copy.details, str(copy)) == (
            original.code,
            original.status,
            original.details,
            str(original),
        )
    assert pickle.loads(pickle.dumps(limited)).retry_after == 2.0  # noqa: S301


def test_the_secret_key_is_not_shown_in_reprs(sdk_project: Project) -> None:
    app = StackServerApp("https://api.example.com", sdk_project.id, sdk_project.secret_server_key)
    assert sdk_project.secret_server_key not in repr(app._core)
    assert sdk_project.secret_server_key not in repr(app)
    app.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_wrong_secret_key_raises_invalid_secret_server_key(
    kind: str, sdk_api: ApiServer, sdk_project: Project
) -> None:
    async with Face(
        make_app(kind, sdk_api.url, replace(sdk_project, secret_server_key="ssk_wrong"))
    ) as face:
        with pytest.raises(errors.InvalidProjectAuthentication) as caught:
            await face.call("list_users")
        assert type(caught.value) is errors.InvalidSecretServerKey
        assert caught.value.status == 401
        assert caught.value.details == {"project_id": sdk_project.id}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_unknown_project_raises(kind: str, sdk_api: ApiServer, sdk_project: Project) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    async with Face(make_app(kind, sdk_api.url, replace(sdk_project, id=missing))) as face:
        with pytest.raises(errors.CurrentProjectNotFound) as caught:
            await face.call("get_user", missing)
        assert caught.value.details == {"project_id": missing}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_no_answer_raises_a_connection_error(kind: str, sdk_project: Project) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with Face(make_app(kind, url, sdk_project)) as face:
        with pytest.raises(errors.StackConnectionError) as caught:
            await face.call("list_users")
        assert (caught.value.code, caught.value.status) == (None, 0)
        assert "GET /users" in str(caught.value)


async def test_a_plain_error_raises_stack_status_error(face: Face) -> None:
    with pytest.raises(errors.StackStatusError) as caught:
        await face.call("create_user", password="a-long-password", password_hash="$2b$10$x")
    assert caught.value.code is None
    assert caught.value.status == 400
    assert "Cannot set both password and password_hash" in str(caught.value)


@contextmanager
def recording(url: str, project: Project) -> Iterator[tuple[StackServerApp, list[httpx.Request]]]:
    """A sync app sending through a client of the test's, and the requests that client sent."""
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as http:
        yield make_app("sync", url, project, http_client=http), seen


def test_requests_carry_the_server_headers_through_a_given_client(
    sdk_api: ApiServer, sdk_project: Project
) -> None:
    with recording(sdk_api.url, sdk_project) as (app, seen):
        with app:
            assert app.list_users(limit=1).items == []
        assert not app._http.is_closed  # the caller's client is left to the caller
        app.list_users(limit=1)
    headers = seen[0].headers
    assert headers["x-stack-access-type"] == "server"
    assert headers["x-stack-project-id"] == sdk_project.id
    assert headers["x-stack-secret-server-key"] == sdk_project.secret_server_key
    assert headers["x-stack-client-version"] == CLIENT_VERSION
    assert str(seen[0].url) == f"{sdk_api.url}/api/v1/users?limit=1"
    assert len(seen) == 2


def test_path_arguments_cannot_reach_another_route(
    sdk_api: ApiServer, sdk_project: Project
) -> None:
    with recording(sdk_api.url, sdk_project) as (app, seen), pytest.raises(StackError):
        app.delete_user("../teams/x")
    assert seen[0].url.raw_path == b"/api/v1/users/..%2Fteams%2Fx"


def test_base_url_is_checked_and_normalised(sdk_project: Project) -> None:
    with pytest.raises(ValueError, match="http"):
        StackServerApp("api.example.com", sdk_project.id, "ssk")
    with pytest.raises(ValueError, match="required"):
        StackServerApp("https://api.example.com", "", "ssk")
    app = StackServerApp("https://api.example.com/api/v1/", "p", "ssk")
    assert app._core.base_url == "https://api.example.com"
    app.close()
