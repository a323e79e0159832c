"""Settings tests against a process environment they control, and the errors it produces."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import pytest

from authstack_core.settings import Settings, SettingsError

# Every variable the settings read starts with one of these (Stack Auth's names and ours).
SETTINGS_PREFIXES = ("STACK_", "NEXT_PUBLIC_STACK_", "CRON_SECRET")


def use_only(monkeypatch: pytest.MonkeyPatch, values: Mapping[str, str]) -> None:
    """Make ``values`` the only settings variables of the environment, for this test."""
    for name in list(os.environ):
        if name.startswith(SETTINGS_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def settings_error(from_env: Callable[[], object] = Settings.from_env) -> str:
    """The message of the SettingsError ``from_env`` raises (the test fails if it raises none)."""
    with pytest.raises(SettingsError) as caught:
        from_env()
    return str(caught.value)
