"""Entry point: ``python -m authstack_api`` serves the API with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from authstack_api.app import create_asgi
from authstack_core.logging import configure_logging
from authstack_core.settings import Settings, SettingsError


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
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
