"""Entry point: ``python -m authstack_api`` serves the API with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from authstack_api.app import create_asgi
from authstack_core.logging import configure_logging
from authstack_core.settings import Settings, SettingsError

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
    uvicorn.run(
        create_asgi(settings),
        host=settings.api_host,
        port=settings.api_port,
        server_header=False,
        proxy_headers=settings.trusted_proxy,
        forwarded_allow_ips="*" if settings.trusted_proxy else None,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
