"""Real Chromium for the browser tests (the dashboard's, the SDK's OAuth sign-in): Debian's
Chromium (``/usr/bin/chromium``) driven by Playwright for Python; no browser is downloaded.

Registered once for every test package (``pytest_plugins`` in tests/conftest.py): Playwright's
sync API runs one instance per process, so two fixtures could not both start one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("AUTHSTACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright; a missing browser fails the test (never skips)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
            "the browser tests drive a real browser"
        )
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (after the check above)

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
