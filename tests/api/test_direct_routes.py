"""Direct routes (authstack_api.direct): the same answers as through Litestar, only cheaper.

``/api/v1/users/me`` is served directly; ``/api/v1/users/me/`` (trailing slash) still goes
through Litestar to the same handler. Every answer, success or error, must be the same both ways.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar, Response, get, post
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client.parser import text_string_to_metric_families

from authstack_api.app import create_app
from authstack_api.direct import DIRECT, DirectRouter
from authstack_core.settings import Settings
from tests.api.helpers import as_user, sign_up
from tests.conftest import Project, settings_env

ME = "/api/v1/users/me"
CURRENT = "/api/v1/projects/current"
# Differ per request or per route: the request id, and Litestar's own ordering of headers.
VARYING = {"x-stack-request-id", "date"}


def _answer(r: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in r.headers.items() if k not in VARYING}
    return r.status_code, headers, r.json() if r.content else None


def _same_both_ways(http: httpx.Client, path: str, headers: dict[str, str]) -> int:
    direct = http.get(path, headers=headers)
    through_litestar = http.get(path + "/", headers=headers)
    assert _answer(direct) == _answer(through_litestar)
    return direct.status_code


def test_every_answer_of_users_me_is_the_same_direct_and_through_litestar(
    http: httpx.Client, project: Project, make_project: Any
) -> None:
    tokens = sign_up(http, project)
    me = as_user(project, tokens["access_token"])
    other = make_project()
    cases = {
        "signed in": (me, 200),
        "server access": ({**me, **project.headers("server")}, 200),
        "overridden status": (
            {**me, "x-stack-override-error-status": "true", "x-stack-access-token": "x"},
            200,
        ),
        "no access type": ({"x-stack-project-id": project.id}, 400),
        "malformed project id": ({**me, "x-stack-project-id": "not-a-project"}, 400),
        "wrong key": ({**me, "x-stack-publishable-client-key": "pck_wrong"}, 401),
        "garbage token": ({**me, "x-stack-access-token": "not.a.token"}, 401),
        "token of another project": (as_user(other, tokens["access_token"]), 401),
        "no user": (project.headers(), 400),
    }
    for name, (headers, status) in cases.items():
        assert _same_both_ways(http, ME, headers) == status, name


def test_current_project_is_the_same_direct_and_through_litestar(
    http: httpx.Client, project: Project
) -> None:
    assert _same_both_ways(http, CURRENT, project.headers()) == 200
    assert _same_both_ways(http, CURRENT, {"x-stack-access-type": "client"}) == 400


def test_what_the_direct_path_does_not_take_litestar_answers(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    me = as_user(project, tokens["access_token"])
    query = http.get(ME + "?x=1", headers=me)
    assert query.status_code == 400
    assert query.json()["code"] == "SCHEMA_ERROR"
    assert http.head(ME, headers=me).status_code in (200, 405)
    bad_host = http.get(ME, headers={**me, "host": "bad host"})
    assert bad_host.status_code == 400


def test_direct_answers_are_counted_under_their_route_template(
    http: httpx.Client, project: Project
) -> None:
    wanted = {"route": CURRENT, "method": "GET", "status": "200"}

    def count() -> float:
        families = text_string_to_metric_families(http.get("/metrics").text)
        samples = [s for f in families for s in f.samples]
        return sum(
            s.value
            for s in samples
            if s.name == "authstack_http_requests_total" and s.labels == wanted
        )

    before = count()
    for _ in range(3):
        assert http.get(CURRENT, headers=project.headers()).status_code == 200
    assert count() == before + 3


# --- the router on small apps of its own --------------------------------------------------


@get("/direct", opt={DIRECT: True})
async def _direct(request: Any) -> Response[bytes]:
    if request.headers.get("x-fail"):
        raise ValueError("handler failed")
    return Response(b'{"ok":true}', media_type="application/json")


@get("/with/{name:str}", opt={DIRECT: True})
async def _path_params(name: str) -> None: ...


@post("/posted", opt={DIRECT: True})
async def _posted(request: Any) -> None: ...


@get("/queried", opt={DIRECT: True})
async def _queried(request: Any, page: int = 1) -> None: ...


@pytest.mark.parametrize(
    ("handler", "complaint"),
    [
        (_path_params, "its path has parameters"),
        (_posted, "it answers more than GET"),
        (_queried, r"it takes \['page'\]"),
    ],
)
def test_a_handler_the_router_cannot_serve_alike_is_refused_at_startup(
    handler: HTTPRouteHandler, complaint: str
) -> None:
    with pytest.raises(ImproperlyConfiguredException, match=complaint):
        DirectRouter(Litestar(route_handlers=[handler]))


async def test_the_apps_middleware_and_exception_handler_wrap_a_direct_route() -> None:
    seen: list[str] = []

    def middleware(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path_template"])
            await app(scope, receive, send)

        return handle

    def on_error(request: Any, exc: Exception) -> Response[bytes]:
        return Response(f"handled {exc}".encode(), status_code=418)

    app = Litestar(
        route_handlers=[_direct],
        middleware=[middleware],
        exception_handlers={Exception: on_error},
    )
    router = DirectRouter(app)
    assert set(router.routes) == {"/direct"}
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ok = await client.get("/direct")
        failed = await client.get("/direct", headers={"x-fail": "1"})
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    assert (failed.status_code, failed.text) == (418, "handled handler failed")
    assert seen == ["/direct", "/direct"]


def test_the_api_serves_exactly_the_marked_routes_directly(migrated_database: str) -> None:
    settings = Settings(**settings_env(migrated_database))  # type: ignore[arg-type]
    router = DirectRouter(create_app(settings))
    assert set(router.routes) == {ME, CURRENT}
