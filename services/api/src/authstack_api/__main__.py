"""Entry point: ``python -m authstack_api`` serves the API with uvicorn."""

from __future__ import annotations

import sys

import structlog
import uvicorn

from authstack_api.app import create_asgi
from authstack_core.logging import configure_logging
from authstack_core.settings import DEPRECATED_TRUSTED_NETWORKS, Settings, SettingsError

# On SIGTERM uvicorn stops accepting and waits for in-flight requests; past this many seconds it
# cancels them. Below Kubernetes' 30 s grace period minus the 5 s preStop pause in k8s/.
GRACEFUL_SHUTDOWN_S = 20


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"authstack-api: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings, service="api")
    if settings.trusted_proxy:
        structlog.get_logger("authstack_api").warning(
            "STACK_TRUSTED_PROXY=true is deprecated: it trusts X-Forwarded-For from loopback and"
            " every private network; name your proxies in STACK_TRUSTED_PROXY_NETWORKS instead",
            trusted=list(DEPRECATED_TRUSTED_NETWORKS),
        )
    uvicorn.run(
        create_asgi(settings),
        host=settings.api_host,
        port=settings.api_port,
        server_header=False,
        # The edge middleware reads X-Forwarded-* itself, from STACK_TRUSTED_PROXY_NETWORKS only;
        # uvicorn's own handling would trust 127.0.0.1 (or FORWARDED_ALLOW_IPS) besides.
        proxy_headers=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
