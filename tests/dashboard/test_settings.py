"""DashboardSettings: what the dashboard reads from the environment, and its start-up errors."""

from __future__ import annotations

import os
import sys

import pytest

from authstack_core.settings import DashboardSettings, SettingsError
from tests.environment import use_only
from tests.factories import run_captured

SECRET = "s" * 32


def from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> DashboardSettings:
    use_only(monkeypatch, env)
    return DashboardSettings.from_env()


def test_defaults_and_api_url_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(
        monkeypatch,
        STACK_DASHBOARD_SESSION_SECRET=SECRET,
        NEXT_PUBLIC_STACK_API_URL="https://api.example.com/",
    )
    assert settings.api_url == "https://api.example.com"
    assert settings.port == 8101
    assert settings.host == "127.0.0.1"
    assert settings.secure_cookies is False
    assert SECRET not in repr(settings)


def test_dedicated_api_url_and_https_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(
        monkeypatch,
        STACK_DASHBOARD_SESSION_SECRET=SECRET,
        NEXT_PUBLIC_STACK_API_URL="https://api.example.com",
        STACK_DASHBOARD_API_URL="http://api.internal:8102",
        NEXT_PUBLIC_STACK_DASHBOARD_URL="https://dash.example.com",
        STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY="pck_seed",
    )
    assert settings.api_url == "http://api.internal:8102"
    assert settings.public_api_url == "https://api.example.com"
    assert settings.secure_cookies is True
    assert settings.publishable_client_key == "pck_seed"


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_a_missing_or_short_session_secret_is_named(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    env = {} if secret is None else {"STACK_DASHBOARD_SESSION_SECRET": secret}
    with pytest.raises(SettingsError, match="STACK_DASHBOARD_SESSION_SECRET"):
        from_env(monkeypatch, **env)


def test_the_service_refuses_to_start_without_its_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACK_DASHBOARD_")}
    done = run_captured([sys.executable, "-m", "authstack_dashboard"], timeout=60, env=env)
    assert done.returncode == 2
    assert "STACK_DASHBOARD_SESSION_SECRET" in done.stderr
    assert "Traceback" not in done.stderr
