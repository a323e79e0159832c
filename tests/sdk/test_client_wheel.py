"""The SDK's wheel builds, installs into an empty virtual environment (dependencies from the
package index) and imports there without any of the server's packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import importlib.util
import authstack_sdk
from authstack_sdk import AsyncStackServerApp, StackServerApp, errors
import sys
assert authstack_sdk.__file__.startswith(sys.prefix), authstack_sdk.__file__
import importlib.resources
assert importlib.resources.files("authstack_sdk").joinpath("py.typed").is_file()
for name in ("authstack_core", "authstack_api", "litestar", "psycopg"):
    assert importlib.util.find_spec(name) is None, name
app = StackServerApp("http://127.0.0.1:9", "p", "ssk")
try:
    app.list_users()
except errors.StackConnectionError:
    print("ok")
"""


def test_wheel_installs_and_imports_in_an_empty_venv(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("`uv` is required to build the wheel")
    out = tmp_path / "dist"
    subprocess.run(
        [uv, "build", "--package", "authstack-sdk", "--wheel", "--out-dir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = out.glob("authstack_sdk-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}

    def run(*args: str, timeout: float) -> str:
        done = subprocess.run(
            [str(python), *args],
            env=clean,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel), timeout=300)
    assert run("-c", CHECK, timeout=60).strip() == "ok"
