"""The chart k8s/chart/authstack rendered by Helm's own engine (helm-python-sdk, dev group)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

from tests.deploy.conftest import K8S
from tests.deploy.k8s_docs import Doc

CHART = K8S / "chart" / "authstack"
PRODUCTION = CHART / "examples" / "production.yaml"
RELEASE = "authstack"
KUBE_VERSION = "v1.37.0"


def production_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(PRODUCTION.read_text())
    return values


def render_templates(
    values: dict[str, Any] | None = None, *, upgrade: bool = False, chart: Path = CHART
) -> dict[str, str]:
    """Each template's output, as `helm template` (an install) or an upgrade would render it."""
    with helm_python.Chart.load(chart) as loaded:
        rendered: dict[str, str] = loaded.render(
            values,
            name=RELEASE,
            namespace=RELEASE,
            is_install=not upgrade,
            is_upgrade=upgrade,
        )
    return rendered


def render(values: dict[str, Any] | None = None, *, upgrade: bool = False) -> list[Doc]:
    docs = []
    for name, text in sorted(render_templates(values, upgrade=upgrade).items()):
        if name.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def annotations(doc: Doc) -> dict[str, str]:
    found: dict[str, str] = doc["metadata"].get("annotations") or {}
    return found


def hook(doc: Doc) -> set[str]:
    """The Helm hook events the object runs at; empty for an object of the release."""
    events = annotations(doc).get("helm.sh/hook", "")
    return {e.strip() for e in events.split(",") if e.strip()}
