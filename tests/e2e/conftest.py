"""The SDK scenarios' Chromium, for the OAuth sign-in in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_fixtures import chromium


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """This package's Chromium (see tests/browser_fixtures.py for why per package)."""
    with chromium() as instance:
        yield instance
