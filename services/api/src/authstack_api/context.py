"""What a route handler's signature asks for, wired once at startup: ``auth`` and ``deps``.

``deps: Deps`` is a plain Litestar dependency (see ``app.create_app``). ``auth`` is not: Litestar
resolves dependencies before it validates the body and the query, so an ``auth`` dependency would
answer a request that is wrong in both ways with the authentication error, where this API answers
SCHEMA_ERROR (the body is checked first); and the rate limits counted before authentication are
keyed on validated body fields. So ``bind_request_context`` gives Litestar, in place of the
handler, a wrapper with the handler's signature minus ``auth``: once Litestar has validated the
arguments, the wrapper counts the handler's ``opt["limit"]``, authenticates as the ``auth``
annotation says and calls the handler.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler

from authstack_api.auth import Access, HttpRequest, authenticate
from authstack_api.limits import Limit


def _access_of(hint: Any) -> Access | None:
    if typing.get_origin(hint) is not typing.Annotated:
        return None
    return next((m for m in hint.__metadata__ if isinstance(m, Access)), None)


def bind_request_context(handler: HTTPRouteHandler) -> None:
    """Make ``handler`` receive ``auth`` as its annotation says, after its ``opt["limit"]``.

    Raises ImproperlyConfiguredException at startup for an ``auth`` parameter without one of
    ``authstack_api.auth``'s access annotations, an access annotation on another parameter, or a
    limit keyed on an argument the handler does not take.
    """
    fn = handler.fn
    if getattr(fn, "_request_context_bound", False):  # another app built from the same modules
        return
    name = f"{fn.__module__}.{fn.__qualname__}"
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    access: Access | None = None
    for param in signature.parameters:
        found = _access_of(hints.get(param))
        if param == "auth":
            if found is None:
                raise ImproperlyConfiguredException(
                    f"{name}: annotate auth with an access type of authstack_api.auth (AnyAuth, "
                    "ServerAuth, AdminAuth, SchemaUserAuth, UserAuth, MeAuth, OptionalAuth)"
                )
            access = found
        elif found is not None:
            raise ImproperlyConfiguredException(
                f"{name}: only a parameter named auth is authenticated"
            )
    limit: Limit | None = handler.opt.get("limit")
    if limit is not None:
        for key in limit.argument_names():
            if key not in signature.parameters:
                raise ImproperlyConfiguredException(
                    f"{name}: its limit reads {key!r}, not an argument"
                )
    if access is None and limit is None:
        return
    handler(_wrap(fn, signature, hints, access, limit))


def _wrap(
    fn: Callable[..., Awaitable[Any]],
    signature: inspect.Signature,
    hints: dict[str, Any],
    access: Access | None,
    limit: Limit | None,
) -> Callable[..., Awaitable[Any]]:
    takes_request = "request" in signature.parameters
    params = [p for p in signature.parameters.values() if p.name != "auth"]
    annotations = {k: v for k, v in hints.items() if k != "auth"}
    if not takes_request:
        params.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY))
        annotations["request"] = HttpRequest

    async def call(**kwargs: Any) -> Any:
        request: HttpRequest = kwargs["request"] if takes_request else kwargs.pop("request")
        if limit is not None:
            await limit.count(request, kwargs)
        if access is not None:
            kwargs["auth"] = await authenticate(request, access)
        return await fn(**kwargs)

    functools.update_wrapper(call, fn)
    del call.__wrapped__  # type: ignore[attr-defined]  # Litestar must read this signature
    call._request_context_bound = True  # type: ignore[attr-defined]
    call.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    return call
