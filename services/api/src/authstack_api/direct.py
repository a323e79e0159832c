"""Direct routes: the hottest GET handlers, called without Litestar's per-request machinery.

The SDK asks for ``/users/me`` and ``/projects/current`` on nearly every page. For a handler
that takes only ``request`` and ``deps`` (its ``auth`` is added by ``authstack_api.context``),
Litestar's routing, keyword model, dependency resolution and response conversion cost more
than the handler's own Python (measured; see bench/README or issue 19's note). A handler
marked ``opt={DIRECT: True}`` is served here instead, for exactly the requests Litestar would
route to it: GET, that path spelled exactly, no query string, no root path, a valid host
header. Anything else (HEAD, a trailing slash, ``?x=1``) goes on to Litestar as before.

What Litestar does around such a handler is done here too, in its order: the scope gets the
app, the route handler, empty path parameters and the path template (the metrics label); the
app's middleware (webhook wake-ups) wraps the call; the before-request hook runs; the handler's
``Response`` becomes the same ASGI messages (ready bytes are sent as Litestar would send them,
without building its response object); an exception goes to the exception handler
Litestar would choose for it, and that answer is sent as Litestar sends it. At start-up,
``DirectRouter`` refuses a marked handler whose shape it cannot serve that way, and an app with
hooks it does not run.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Litestar, Response
from litestar._asgi.utils import is_valid_host
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware._internal.exceptions.middleware import get_exception_handler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

DIRECT = "direct"
_ARGUMENTS = frozenset({"request", "deps"})


class DirectRouter:
    """The served app's router: direct routes here, every other request (and the lifespan) to
    the Litestar ``app``."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        # path -> (its route handler, its call wrapped in the app's middleware)
        self.routes: dict[str, tuple[HTTPRouteHandler, ASGIApp]] = {}
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for handler, _ in route.route_handler_map.values():
                if handler.opt.get(DIRECT):
                    _check(app, route, handler)
                    call = self._caller(handler)
                    for wrap in reversed(app.middleware):
                        call = wrap(call)  # _check: plain functions
                    self.routes[route.path] = (handler, call)

    def _caller(self, handler: HTTPRouteHandler) -> ASGIApp:
        fn = cast(Callable[..., Awaitable[Response[Any]]], handler.fn)
        takes_deps = "deps" in inspect.signature(fn).parameters
        request_class = handler.resolve_request_class()
        type_encoders = handler.resolve_type_encoders()
        before_request = handler.resolve_before_request()
        exception_handlers = handler.resolve_exception_handlers()
        state = self.app.state

        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            request = request_class(scope=scope, receive=receive, send=send)
            try:
                # As in Litestar: what a before-request hook returns is the answer.
                response = await before_request(request) if before_request else None
                if response is None:
                    if takes_deps:
                        response = await fn(request=request, deps=state.deps)
                    else:
                        response = await fn(request=request)
            except Exception as exc:
                exception_handler = get_exception_handler(exception_handlers, exc)
                if exception_handler is None:
                    raise
                response = exception_handler(request, exc)
            if not await _send_plain(response, send):
                answer = response.to_asgi_response(
                    app=None, request=request, type_encoders=type_encoders
                )
                await answer(scope, receive, send)

        return cast(ASGIApp, call)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        direct = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if (
            direct is None
            or scope["method"] != "GET"
            or scope["query_string"]
            or scope.get("root_path")
            or not _host_ok(scope)
        ):
            await self.app(scope, receive, send)
            return
        handler, call = direct
        scope["app"] = scope["litestar_app"] = self.app
        scope.setdefault("state", {})
        scope["path_params"] = {}
        scope["route_handler"] = handler
        scope["path_template"] = scope["path"]  # matched exactly: the path is the template
        await call(scope, receive, send)


def _check(app: Litestar, route: HTTPRoute, handler: HTTPRouteHandler) -> None:
    arguments = set(inspect.signature(handler.fn).parameters)
    problems = {
        "the app has send or exception hooks": app.before_send or app.after_exception,
        "the app's middleware is not plain functions": not all(
            inspect.isfunction(m) for m in app.middleware
        ),
        "it answers more than GET": handler.http_methods != {"GET"},
        "its path has parameters": route.path_parameters,
        f"it takes {sorted(arguments - _ARGUMENTS)}": not arguments <= _ARGUMENTS,
        "it has guards, after-hooks, a DTO or caching": handler.resolve_guards()
        or handler.resolve_after_response()
        or any(getattr(layer, "after_request", None) for layer in handler.ownership_layers)
        or handler.resolve_return_dto()
        or handler.cache,
        "it sets response headers or cookies": handler.resolve_response_headers()
        or handler.resolve_response_cookies(),
    }
    found = [problem for problem, present in problems.items() if present]
    if found:
        raise ImproperlyConfiguredException(
            f"{handler.handler_name} cannot be a direct route: " + "; ".join(found)
        )


async def _send_plain(response: Response[Any], send: Send) -> bool:
    """Send a response of ready bytes as Litestar's ``ASGIResponse`` would (its headers, then a
    content type and length unless it set them), without building one; False, sending nothing,
    for anything else (cookies, a background task, a body-less status, content to render)."""
    body = response.content
    status = response.status_code or 200
    media_type = response.media_type
    if (
        type(body) is not bytes
        or response.cookies
        or response.background is not None
        or not isinstance(media_type, str)
        or status < 200
        or status in (204, 304)
    ):
        return False
    headers = [
        (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()
    ]
    names = {name for name, _ in headers}
    if b"content-type" not in names:
        if media_type.startswith("text/"):
            media_type = f"{media_type}; charset={response.encoding}"
        headers.append((b"content-type", media_type.encode("latin-1")))
    if b"content-length" not in names:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return True


def _host_ok(scope: Scope) -> bool:
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    return host is None or is_valid_host(host)
