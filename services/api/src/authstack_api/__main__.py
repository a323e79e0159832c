"""Entry point: ``python -m authstack_api`` serves the API with uvicorn."""

from __future__ import annotations

import sys

import structlog

from authstack_api.app import create_asgi
from authstack_core.runtime import start
from authstack_core.serving import serve
from authstack_core.settings import DEPRECATED_TRUSTED_NETWORKS, Settings

# On SIGTERM uvicorn stops accepting and waits for in-flight requests; past this many seconds it
# cancels them. Below Kubernetes' 30 s grace period minus the 5 s preStop pause in k8s/.
GRACEFUL_SHUTDOWN_S = 20


def main() -> int:
    settings = start(Settings, "api")
    if settings.trusted_proxy:
        structlog.get_logger("authstack_api").warning(
            "STACK_TRUSTED_PROXY=true is deprecated: it trusts X-Forwarded-For from loopback and"
            " every private network; name your proxies in STACK_TRUSTED_PROXY_NETWORKS instead",
            trusted=list(DEPRECATED_TRUSTED_NETWORKS),
        )
    serve(
        create_asgi(settings),
        host=settings.api_host,
        port=settings.api_port,
        # The edge middleware reads X-Forwarded-* itself, from STACK_TRUSTED_PROXY_NETWORKS only;
        # uvicorn's own handling would trust 127.0.0.1 (or FORWARDED_ALLOW_IPS) besides.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
