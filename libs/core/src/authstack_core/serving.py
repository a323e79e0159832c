"""How the HTTP services (and the benchmark's floor) run under uvicorn.

Only the HTTP services' packages install uvicorn: the worker and migrator never import this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvicorn

# An ASGI 3 application: ``await app(scope, receive, send)``.
ASGIApp = Callable[..., Awaitable[None]]


def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    proxy_headers: bool = True,
    timeout_graceful_shutdown: int | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain (up to ``timeout_graceful_shutdown`` s).

    No ``Server`` header and no access log (the app writes its own line per request); uvicorn's
    records go through ``configure_logging``'s pipeline (``log_config=None``); lifespan events
    are required, so start-up work runs before the first request.
    """
    uvicorn.run(
        app,
        host=host,
        port=port,
        server_header=False,
        proxy_headers=proxy_headers,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=timeout_graceful_shutdown,
    )
