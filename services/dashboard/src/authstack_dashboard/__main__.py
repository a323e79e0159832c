"""Entry point: ``python -m authstack_dashboard`` serves the dashboard with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from authstack_core.logging import configure_logging
from authstack_core.settings import DashboardSettings, SettingsError
from authstack_dashboard.app import create_app


def main() -> int:
    try:
        settings = DashboardSettings.from_env()
    except SettingsError as exc:
        print(f"authstack-dashboard: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings, service="dashboard")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        server_header=False,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
