"""The start every service's ``__main__`` shares: settings from the environment, then logging."""

from __future__ import annotations

import sys
from typing import TypeVar

from authstack_core.logging import configure_logging
from authstack_core.settings import DashboardSettings, Settings, SettingsError

# The exit status of a service refused by its environment (a missing or weak variable).
BAD_ENVIRONMENT = 2

ServiceSettings = TypeVar("ServiceSettings", Settings, DashboardSettings)


def start(settings_class: type[ServiceSettings], service: str) -> ServiceSettings:
    """Read ``settings_class`` from the environment and route logging through one pipeline.

    A bad environment prints ``authstack-<service>: <reason>`` (it names the variable, never its
    value) to stderr and raises ``SystemExit`` with status 2 before anything is logged.
    """
    try:
        settings = settings_class.from_env()
    except SettingsError as exc:
        print(f"authstack-{service}: {exc}", file=sys.stderr)
        raise SystemExit(BAD_ENVIRONMENT) from None
    configure_logging(settings, service=service)
    return settings
