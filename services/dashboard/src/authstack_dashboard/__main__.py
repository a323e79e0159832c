"""Entry point: ``python -m authstack_dashboard`` serves the dashboard with uvicorn."""

from __future__ import annotations

import sys

from authstack_core.runtime import start
from authstack_core.serving import serve
from authstack_core.settings import DashboardSettings
from authstack_dashboard.app import create_app


def main() -> int:
    settings = start(DashboardSettings, "dashboard")
    serve(create_app(settings), host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
