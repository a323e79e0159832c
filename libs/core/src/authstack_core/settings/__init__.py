"""Typed settings, read from Stack Auth's own environment variable names.

Sections (``sections``) group the fields by area; each service's class (``services``) composes
the sections it needs on the one loader and production check (``loader``).
"""

from authstack_core.settings.loader import SettingsError
from authstack_core.settings.sections import (
    DEPRECATED_TRUSTED_NETWORKS,
    MIGRATION_LOCK_TIMEOUT,
    MIGRATION_STATEMENT_TIMEOUT,
    POSTGRES_DURATION,
    IPNetwork,
)
from authstack_core.settings.services import DashboardSettings, Settings

__all__ = [
    "DEPRECATED_TRUSTED_NETWORKS",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATION_STATEMENT_TIMEOUT",
    "POSTGRES_DURATION",
    "DashboardSettings",
    "IPNetwork",
    "Settings",
    "SettingsError",
]
