"""Render the plain manifests of k8s/ (kustomize base and components) from the Helm chart.

The chart, k8s/chart/authstack, is the only source: `make manifests` (this script) writes each
template's output, rendered with k8s/base/render-values.yaml, to the file kustomize reads, and
`--check` (tests/deploy/test_helm_rendered.py) fails when a checked-in file differs. Rendering
uses Helm's own engine from the helm-python-sdk package (dev group); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
CHART = K8S / "chart" / "authstack"
RENDER_VALUES = K8S / "base" / "render-values.yaml"
RELEASE = "authstack"

# (values on top of render-values.yaml, {chart template: the file kustomize reads}).
BASE_TEMPLATES = (
    "serviceaccount",
    "configmap",
    "clickhouse",
    "migrator-job",
    "api",
    "dashboard",
    "worker",
    "cronjobs",
    "ingress",
    "networkpolicies",
)
VARIANTS: tuple[tuple[dict[str, Any], dict[str, Path]], ...] = (
    ({}, {name: K8S / "base" / f"{name}.yaml" for name in BASE_TEMPLATES}),
    (
        {"worker": {"autoscaling": {"mode": "keda"}}},
        {"worker-scaling": K8S / "components" / "worker-keda" / "scaledobject.yaml"},
    ),
    (
        {"worker": {"autoscaling": {"mode": "hpa"}}},
        {"worker-scaling": K8S / "components" / "worker-cpu-hpa" / "hpa.yaml"},
    ),
    (
        {"metrics": {"serviceMonitor": {"enabled": True}}},
        {"metrics": K8S / "components" / "prometheus" / "metrics.yaml"},
    ),
)


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, key by key (as Helm coalesces values files)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def header(template: str) -> str:
    return (
        f"# Rendered from k8s/chart/authstack/templates/{template}.yaml by scripts/render_k8s.py\n"
        "# (`make manifests`). Edit the chart or k8s/base/render-values.yaml, never this file.\n"
    )


def render_all() -> dict[Path, str]:
    """Every rendered file: its path and the text it must hold."""
    values = yaml.safe_load(RENDER_VALUES.read_text())
    files: dict[Path, str] = {}
    with helm_python.Chart.load(CHART) as chart:
        for overrides, targets in VARIANTS:
            rendered = chart.render(
                merged(values, overrides), name=RELEASE, namespace=RELEASE, is_upgrade=True
            )
            for template, path in targets.items():
                text = rendered[f"authstack/templates/{template}.yaml"].strip()
                files[path] = header(template) + text.removeprefix("---").lstrip("\n") + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report files that are not up to date"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in render_all().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in stale:
        print(f"{'stale' if args.check else 'rendered'}: {path}")
    if args.check and stale:
        print("run `make manifests` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
