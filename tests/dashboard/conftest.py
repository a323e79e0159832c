"""Fixtures for the dashboard tests: a live dashboard beside the live API, and pages of real
Chromium (``tests/browser_fixtures.py``). Every browser test saves a screenshot of the page it
checks under ``tests/dashboard/screenshots/`` (git-ignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser_fixtures import chromium
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, INTERNAL_KEYS, ApiServer
from tests.factories import free_port, stop_process, wait_healthy

SCREENSHOTS = Path(__file__).parent / "screenshots"
# Known to the tests, so they can forge the cookies a signed-in browser would hold.
SESSION_SECRET = "dashboard-test-session-secret-" + "x" * 16


@dataclass
class DashboardServer:
    url: str
    process: subprocess.Popen[bytes]


def start_dashboard(api: ApiServer, log: Path | None = None, **extra_env: str) -> DashboardServer:
    """A dashboard process on ``api``; its stderr (the log) goes to ``log`` when given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STACK_DASHBOARD_API_URL": api.url,
        "STACK_DASHBOARD_HOST": "127.0.0.1",
        "STACK_DASHBOARD_PORT": str(port),
        "STACK_DASHBOARD_SESSION_SECRET": SESSION_SECRET,
        "NEXT_PUBLIC_STACK_DASHBOARD_URL": url,
        "NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY": INTERNAL_KEYS["publishable_client_key"],
        "STACK_LOG_FORMAT": "json",
        "STACK_LOG_LEVEL": "warning",
        **extra_env,
    }
    sink = open(log, "ab") if log else None  # noqa: SIM115 (the child holds its own copy)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "authstack_dashboard"], env=env, stderr=sink
        )
    finally:
        if sink is not None:
            sink.close()
    wait_healthy(process, f"{url}/health", "dashboard", log_path=log)
    return DashboardServer(url, process)


@pytest.fixture(scope="session")
def dashboard(api: ApiServer, s3_env: dict[str, str]) -> Iterator[DashboardServer]:
    # The API stores images in the test S3 server: the dashboard shows them (its CSP allows it).
    server = start_dashboard(api, **s3_env)
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """This package's Chromium (see tests/browser_fixtures.py for why per package)."""
    with chromium() as instance:
        yield instance


@contextmanager
def open_page(browser: Any, dashboard: DashboardServer) -> Iterator[Any]:
    """A page of a fresh browser context (no cookies) on ``dashboard``."""
    context = browser.new_context(base_url=dashboard.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, dashboard: DashboardServer) -> Iterator[Any]:
    with open_page(browser, dashboard) as pg:
        yield pg


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot of what the test checked; returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/projects")
