"""The migrator tests' database: a brand-new one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import fresh_database


@pytest.fixture
def fresh_db() -> Iterator[str]:
    """A brand-new empty database with a random name, dropped afterwards."""
    with fresh_database("authstack_migrator_test") as url:
        yield url
