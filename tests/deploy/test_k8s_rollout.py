"""k8s/: the migrator runs before the apps, under Argo CD and under the rollout script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.conftest import K8S
from tests.deploy.k8s_docs import APPS, OVERLAY, Doc, component, of_kind
from tests.factories import run_captured


@pytest.mark.parametrize("variant", ["keda", "cpu-hpa"])
def test_migrator_runs_before_the_apps_under_argo_cd(
    variant: str, rendered: list[Doc], rendered_cpu_hpa: list[Doc]
) -> None:
    docs = rendered if variant == "keda" else rendered_cpu_hpa
    (job,) = of_kind(docs, "Job")
    assert component(job) == "migrator"
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    job_wave = int(annotations["argocd.argoproj.io/sync-wave"])
    for doc in docs:
        if doc is job:
            continue
        wave = int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if component(doc) in APPS:
            assert wave > job_wave, f"{name} must wait for the migrator"
        else:
            assert wave < job_wave, f"the migrator needs {name} first"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert "args" not in container  # the image's CMD: python -m authstack_migrator


def test_rollout_script_selector_holds_back_exactly_the_workloads(rendered: list[Doc]) -> None:
    script = (K8S / "rollout.sh").read_text()
    match = re.search(r"^workloads='([\w,]+)'$", script, re.MULTILINE)
    assert match is not None
    held_back = set(match[1].split(","))
    assert held_back == APPS
    assert "notin ($workloads,migrator)" in script
    first_pass = [d for d in rendered if component(d) not in held_back | {"migrator"}]
    assert [d["kind"] for d in first_pass if d["kind"] in ("Deployment", "CronJob", "Job")] == []
    # what the Job needs is in the first pass: its ConfigMaps, ServiceAccount, network policy, and
    # the ClickHouse it migrates
    names = {(d["kind"], d["metadata"]["name"]) for d in first_pass}
    assert {
        ("ConfigMap", "authstack-config"),
        ("ConfigMap", "authstack-clickhouse"),
        ("ServiceAccount", "authstack"),
        ("NetworkPolicy", "authstack-migrator"),
        ("NetworkPolicy", "authstack-clickhouse"),
        ("StatefulSet", "authstack-clickhouse"),
        ("Service", "authstack-clickhouse"),
    } <= names
    # and every object carries the component label the selector reads
    assert all("app.kubernetes.io/component" in d["metadata"]["labels"] for d in rendered)


def run_rollout(tmp_path: Path, job_state: str) -> tuple[int, list[str]]:
    """k8s/rollout.sh with a kubectl that records its calls and reports the Job's state."""
    log = tmp_path / "calls"
    fake = tmp_path / "kubectl"
    fake.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$(printf "%s" "$*" | tr "\\n" " ")" >> {log}\n'
        'case "$*" in\n'
        f'  *"get job"*) printf "{job_state}\\n" ;;\n'
        '  *"get deployments"*) echo deployment.apps/authstack-api ;;\n'
        '  *"get statefulsets"*) echo statefulset.apps/authstack-clickhouse ;;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    result = run_captured(
        ["bash", str(K8S / "rollout.sh"), str(OVERLAY), "authstack"],
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "KUBECTL": str(fake), "AUTHSTACK_POLL_SECONDS": "0"},
    )
    return result.returncode, log.read_text().splitlines()


def test_rollout_applies_the_apps_only_after_the_migration_completed(tmp_path: Path) -> None:
    code, calls = run_rollout(tmp_path, "Complete=True")
    assert code == 0
    verbs = [" ".join(c.split()[:3]) for c in calls]
    assert calls[0].startswith("--namespace authstack delete job --selector")
    # configuration and ClickHouse, which must be ready before the migrator migrates it
    assert calls[1].startswith("apply --kustomize")
    assert "notin (api,dashboard,worker,cron,migrator)" in calls[1]
    assert "get statefulsets" in calls[2]
    assert calls[3].endswith("rollout status statefulset.apps/authstack-clickhouse --timeout=10m")
    assert calls[4] == (
        f"apply --kustomize {OVERLAY} --selector app.kubernetes.io/component=migrator"
    )
    assert "get job" in calls[5]
    assert calls[6] == f"apply --kustomize {OVERLAY}"
    assert "rollout status deployment.apps/authstack-api" in calls[-1], verbs


def test_rollout_stops_before_the_apps_when_the_migration_fails(tmp_path: Path) -> None:
    code, calls = run_rollout(tmp_path, "Failed=True")
    assert code == 1
    assert f"apply --kustomize {OVERLAY}" not in calls
    assert any(c.startswith("--namespace authstack logs") for c in calls)
