"""What the deployment tests share: the workspace's services and the tools that check them.

The list of services is read from the uv workspace (``[tool.uv.workspace].members``), so a service
that lands later (worker, dashboard) is covered by every test here without editing it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = ROOT / "k8s"
VENV_BIN = Path(sys.executable).parent


def workspace_services() -> list[str]:
    """Names of the ``services/<name>`` workspace members, in the order pyproject lists them."""
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]
    return [m.removeprefix("services/") for m in members if m.startswith("services/")]


def dockerfile_services() -> list[str]:
    """Services that have a deploy/<name>.Dockerfile, whether or not they exist yet."""
    return sorted(p.name.removesuffix(".Dockerfile") for p in DEPLOY.glob("*.Dockerfile"))


def tool(name: str, hint: str) -> str:
    """Path of a command-line tool the tests need. Missing is a failure, never a skip."""
    found = shutil.which(name, path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    if found is None:
        raise AssertionError(f"{name} is required by tests/deploy: {hint}")
    return found
