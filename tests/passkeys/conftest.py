"""The passkey tests' project: passkeys on, one trusted domain, localhost not allowed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Project
from tests.passkeys.helpers import PASSKEY_CONFIG


@pytest.fixture
def passkey_project(make_project: Any) -> Project:
    project: Project = make_project(PASSKEY_CONFIG)
    return project
