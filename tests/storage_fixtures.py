"""The storage fixtures: one real S3 server (SeaweedFS, as in ``make dev``) for the session.

Registered for every test package (``pytest_plugins`` in tests/conftest.py). If SeaweedFS cannot
start the tests that need it fail; they never skip.
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_launcher() -> Any:
    """scripts/dev_s3.py, the launcher ``make dev`` uses (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("dev_s3", ROOT / "scripts" / "dev_s3.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dev_s3"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()
SeaweedFS = launcher.SeaweedFS


def start_seaweedfs(folder: Path) -> Any:
    """A new SeaweedFS with its data in ``folder``, a fresh key pair and both buckets made."""
    try:
        return launcher.start(
            folder,
            access_key_id="AK" + secrets.token_hex(9).upper(),
            secret_access_key=secrets.token_urlsafe(30),
        )
    except launcher.SeaweedError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's S3 server (a ``SeaweedFS``: ``.env()`` gives its STACK_S3_* variables)."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_env(seaweedfs: Any) -> dict[str, str]:
    """The STACK_S3_* environment of a service under test that stores files."""
    env: dict[str, str] = seaweedfs.env()
    return env
