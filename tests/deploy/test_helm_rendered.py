"""One source of truth: k8s/base and the components are the chart rendered, never edited by hand.

scripts/render_k8s.py (`make manifests`) writes them; here the chart is rendered again and compared
with what is checked in, and the chart's values file and the README's example are checked too.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import K8S, ROOT
from tests.deploy.helm_docs import CHART, PRODUCTION
from tests.factories import load_script, run_captured


@pytest.fixture(scope="module")
def renderer() -> Any:
    return load_script("render_k8s")


def test_the_checked_in_manifests_are_the_chart_rendered(renderer: Any) -> None:
    files = renderer.render_all()
    stale = [str(p.relative_to(ROOT)) for p, text in files.items() if p.read_text() != text]
    assert stale == [], f"run `make manifests` and commit: {stale}"
    # every manifest kustomize reads is one of them: nothing in k8s/ is kept by hand twice
    listed = {
        p
        for p in (K8S / "base").glob("*.yaml")
        if p.name not in ("kustomization.yaml", "render-values.yaml")
    }
    for component in (K8S / "components").iterdir():
        listed |= {p for p in component.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == set(files)
    for text in files.values():
        assert text.startswith("# Rendered from k8s/chart/authstack/templates/")
        assert "helm.sh/" not in text  # no Helm hook or release label for plain kubectl


def test_the_check_fails_when_the_chart_changed(tmp_path: Path, renderer: Any) -> None:
    chart = tmp_path / "authstack"
    shutil.copytree(CHART, chart)
    api = chart / "templates" / "api.yaml"
    api.write_text(api.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 7"))
    renderer.CHART = chart
    try:
        files = renderer.render_all()
    finally:
        renderer.CHART = CHART
    changed = [p.name for p, text in files.items() if p.read_text() != text]
    assert changed == ["api.yaml"]


def test_the_make_target_checks_the_same() -> None:
    result = run_captured(
        [sys.executable, str(ROOT / "scripts" / "render_k8s.py"), "--check"], timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "manifests:" in (ROOT / "Makefile").read_text()


def test_every_values_group_is_documented() -> None:
    """Each line of values.yaml is a comment, or a key under one with no blank line between."""
    undocumented = []
    covered = False
    for number, line in enumerate((CHART / "values.yaml").read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            covered = False
        elif stripped.startswith("#") or " # " in line:
            covered = True
        elif not covered:
            undocumented.append(f"{number}: {line}")
    assert undocumented == []


def test_the_readme_shows_the_production_example_and_starts_with_helm() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Kubernetes\n", 1)[1].split("\n### ", 1)[0]
    first_command = re.search(r"```(?:sh|bash)?\n(.*?)```", section, re.DOTALL)
    assert first_command is not None
    assert "helm install" in first_command[1]  # the Helm route comes first
    for verb in ("helm upgrade", "helm uninstall", "helm rollback", "kubectl apply"):
        assert verb in section, verb
    example = PRODUCTION.read_text()
    body = "".join(example.splitlines(keepends=True)[1:])  # its first line names the file
    assert body in section
