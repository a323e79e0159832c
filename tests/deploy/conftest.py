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

import pytest
import yaml

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


# --- k8s/ rendered (module-scoped: each test module renders its own copy) ----------------------

# Imported last: k8s_docs takes K8S and tool() from this module.
from tests.deploy.k8s_docs import OVERLAY, Doc, kustomize  # noqa: E402


@pytest.fixture(scope="module")
def rendered() -> list[Doc]:
    return kustomize(OVERLAY)


@pytest.fixture(scope="module")
def rendered_cpu_hpa(tmp_path_factory: pytest.TempPathFactory) -> list[Doc]:
    """The overlay with the README's one-line swap for clusters without KEDA."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    kustomization = root / "overlays" / "production" / "kustomization.yaml"
    text = kustomization.read_text()
    assert "../../components/worker-keda" in text
    kustomization.write_text(
        text.replace("../../components/worker-keda", "../../components/worker-cpu-hpa")
    )
    return kustomize(root / "overlays" / "production")


@pytest.fixture(scope="module")
def secret_template() -> list[Doc]:
    return [d for d in yaml.safe_load_all((K8S / "secret.template.yaml").read_text()) if d]
