"""The Helm chart (k8s/chart/authstack): lints, renders valid objects, keeps the invariants.

Rendered offline by Helm's own engine (helm-python-sdk bundles Helm v4 as a library), with the
chart's defaults and with the production example (KEDA, ServiceMonitors, an existing Secret, TLS);
every object passes `kubernetes-validate --strict`, the custom resources their CRD schemas.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from authstack_cron.runner import ENDPOINTS
from tests.deploy.conftest import tool
from tests.deploy.helm_docs import (
    CHART,
    KUBE_VERSION,
    annotations,
    hook,
    production_values,
    render,
)
from tests.deploy.k8s_docs import (
    APPS,
    CRON_SCHEDULES,
    Doc,
    component,
    cron_schedules,
    named,
    of_kind,
)
from tests.deploy.test_k8s import CRD_KINDS, KUBERNETES_VERSION, validate_crds

VARIANTS = ["defaults-install", "defaults-upgrade", "production-install", "production-upgrade"]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|CONNECTION_STRING|REDIS_URL")


def variant_docs(variant: str) -> list[Doc]:
    values, action = variant.split("-")
    return render(
        production_values() if values == "production" else None, upgrade=action == "upgrade"
    )


@pytest.fixture(scope="module")
def defaults() -> list[Doc]:
    return render()


@pytest.fixture(scope="module")
def production() -> list[Doc]:
    return render(production_values())


def pods(docs: list[Doc]) -> list[tuple[str, Doc]]:
    """(component, pod spec) of every workload: Deployments, Jobs, CronJobs, the StatefulSet."""
    specs = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job", "StatefulSet"):
            specs.append((component(doc), doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            specs.append((component(doc), doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def test_the_engine_is_helm_4_from_the_pinned_package() -> None:
    assert helm_python.helm_sdk_version().startswith("v4.")


@pytest.mark.parametrize("values", ["defaults", "production"])
def test_helm_lint_passes_strictly(values: str) -> None:
    report = helm_python.lint(
        CHART,
        production_values() if values == "production" else None,
        strict=True,
        kube_version=KUBE_VERSION,
    )
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems


def test_lint_catches_a_broken_template(tmp_path: Path) -> None:
    chart = tmp_path / "authstack"
    shutil.copytree(CHART, chart)
    api = chart / "templates" / "api.yaml"
    unclosed = "{{- end }}\n---\napiVersion: policy/v1"  # the HPA's `if` loses its `end`
    assert unclosed in api.read_text()
    api.write_text(api.read_text().replace(unclosed, "---\napiVersion: policy/v1", 1))
    report = helm_python.lint(chart, strict=True, kube_version=KUBE_VERSION)
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 2]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rendered_object_passes_strict_validation(variant: str) -> None:
    docs = variant_docs(variant)
    custom = [d for d in docs if d["kind"] in CRD_KINDS]
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    if variant.startswith("production"):
        assert {d["kind"] for d in custom} == CRD_KINDS
    if custom:
        result = validate_crds(custom)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("ok ") == len(custom)


def test_the_validator_command_line_accepts_the_rendered_chart(tmp_path: Path) -> None:
    binary = tool("kubernetes-validate", "installed by `uv sync` (dev group)")
    files = []
    for variant in VARIANTS:
        path = tmp_path / f"{variant}.yaml"
        path.write_text(yaml.safe_dump_all(variant_docs(variant)))
        files.append(str(path))
    result = subprocess.run(
        [binary, "--strict", "--kubernetes-version", KUBERNETES_VERSION, "--quiet", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warned = re.findall(r"Couldn't find schema for kind (\w+)", result.stdout + result.stderr)
    assert set(warned) <= CRD_KINDS


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_container_runs_as_root_or_keeps_privileges(variant: str) -> None:
    specs = pods(variant_docs(variant))
    assert {c for c, _ in specs} == APPS | {"migrator", "clickhouse"}
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert set(container["resources"]) == {"requests", "limits"}, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_cronjob_per_endpoint_on_its_schedule_never_overlapping(variant: str) -> None:
    docs = variant_docs(variant)
    assert cron_schedules(docs) == CRON_SCHEDULES
    # one pod spec for all: the CronJobs differ in name, schedule and endpoint only
    shapes = []
    for cronjob in of_kind(docs, "CronJob"):
        spec = copy.deepcopy(cronjob["spec"])
        del spec["schedule"]
        (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        del container["args"][container["args"].index("--endpoint") + 1]
        shapes.append(spec)
    assert len(shapes) == len(ENDPOINTS)
    assert all(shape == shapes[0] for shape in shapes)


def test_the_hourly_schedules_are_values_of_their_own() -> None:
    hourly = {"failed-emails-digest": "30 5 * * *", "prune-expired": "45 * * * *"}
    docs = render(
        {
            "cron": {
                "schedule": "*/2 * * * *",
                "digestSchedule": "30 5 * * *",
                "pruneSchedule": "45 * * * *",
            }
        }
    )
    assert cron_schedules(docs) == {name: hourly.get(name, "*/2 * * * *") for name in ENDPOINTS}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_migrator_is_a_hook_that_runs_before_every_app(variant: str) -> None:
    docs = variant_docs(variant)
    job = named(docs, "Job", "authstack-migrator")
    assert hook(job) == {"pre-install", "pre-upgrade"}
    notes = annotations(job)
    assert notes["helm.sh/hook-weight"] == "0"
    assert notes["helm.sh/hook-delete-policy"] == "before-hook-creation"
    # the Argo CD equivalent: a Sync hook in wave 0, between the configuration and the apps
    assert notes["argocd.argoproj.io/hook"] == "Sync"
    assert notes["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert notes["argocd.argoproj.io/sync-wave"] == "0"
    # what the Job reads exists before it: ConfigMaps and ServiceAccount are earlier hooks
    needs = {"ConfigMap", "ServiceAccount"}
    for doc in docs:
        if doc["kind"] in needs:
            assert {"pre-install", "pre-upgrade"} <= hook(doc), doc["metadata"]["name"]
            assert int(annotations(doc)["helm.sh/hook-weight"]) < 0
    # every app is an object of the release: Helm applies it only after the hooks succeeded
    for doc in docs:
        if component(doc) in APPS:
            assert not hook(doc), doc["metadata"]["name"]
            assert int(annotations(doc)["argocd.argoproj.io/sync-wave"]) > 0
        elif doc is not job and component(doc) != "migrator":
            assert int(annotations(doc)["argocd.argoproj.io/sync-wave"]) < 0


def test_a_first_install_migrates_clickhouse_once_it_exists(defaults: list[Doc]) -> None:
    """Pre-install hooks run before our ClickHouse exists: PostgreSQL first, then post-install."""
    job = named(defaults, "Job", "authstack-migrator")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STACK_CLICKHOUSE_URL"] == {"name": "STACK_CLICKHOUSE_URL", "value": "disabled"}
    later = named(defaults, "Job", "authstack-migrator-clickhouse")
    assert hook(later) == {"post-install"}
    (container,) = later["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["python", "-m", "authstack_migrator", "clickhouse"]

    upgrade = render(upgrade=True)
    (job,) = of_kind(upgrade, "Job")
    names = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "STACK_CLICKHOUSE_URL" not in names  # an upgrade migrates both stores first
    argo = render({"migrator": {"clickhouseAfterInstall": False}})
    assert [j["metadata"]["name"] for j in of_kind(argo, "Job")] == ["authstack-migrator"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_value_is_rendered(variant: str) -> None:
    docs = variant_docs(variant)
    secret = "authstack-prod-secrets" if variant.startswith("production") else "authstack-secrets"
    assert not of_kind(docs, "Secret")
    text = yaml.safe_dump_all(docs)
    assert not re.search(r"\w+://[^/\s:@]*:[^/\s@]+@", text), "credentials in a URL"
    for _, spec in pods(docs):
        for container in spec["containers"]:
            assert not [e for e in container.get("envFrom", []) if "secretRef" in e]
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == secret, env
                elif SECRET_NAME.search(env["name"]):
                    assert "value" not in env, env
    for config in of_kind(docs, "ConfigMap"):
        for key in config["data"]:
            assert not SECRET_NAME.search(key), key


def test_production_values_reach_the_objects(production: list[Doc]) -> None:
    values: dict[str, Any] = production_values()
    for name, spec in pods(production):
        if name != "clickhouse":
            image = spec["containers"][0]["image"]
            assert image == f"registry.example.org/authstack/{name}:0.1.0", image
    (ingress,) = of_kind(production, "Ingress")
    assert ingress["spec"]["tls"] == [
        {"hosts": ["auth.example.org", "dashboard.example.org"], "secretName": "authstack-prod-tls"}
    ]
    assert annotations(ingress)["cert-manager.io/cluster-issuer"] == "letsencrypt"
    config = named(production, "ConfigMap", "authstack-config")["data"]
    assert config["NEXT_PUBLIC_STACK_API_URL"] == "https://auth.example.org"
    assert config["STACK_EMAIL_HOST"] == values["smtp"]["host"]
    # KEDA scales the worker, no HPA does, and Helm leaves the replica count to KEDA
    (scaled,) = of_kind(production, "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["address"] == "redis-master.databases.svc.cluster.local:6379"
    assert trigger["metadata"]["listName"] == "authstack:emails"
    assert (
        named(production, "TriggerAuthentication", "authstack-worker-redis")["spec"][
            "secretTargetRef"
        ][0]["name"]
        == "authstack-prod-secrets"
    )
    assert not [
        h for h in of_kind(production, "HorizontalPodAutoscaler") if component(h) == "worker"
    ]
    assert "replicas" not in named(production, "Deployment", "authstack-worker")["spec"]
    monitors = of_kind(production, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"authstack-api", "authstack-worker"}
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        credentials = monitor["spec"]["endpoints"][0]["authorization"]["credentials"]
        assert credentials == {"name": "authstack-prod-secrets", "key": "STACK_METRICS_TOKEN"}


def test_defaults_scale_the_worker_with_keda_and_render_no_service_monitor(
    defaults: list[Doc],
) -> None:
    assert of_kind(defaults, "ScaledObject")
    assert not of_kind(defaults, "ServiceMonitor")
    assert not [d for d in defaults if d["metadata"]["name"] == "authstack-worker-metrics"]


@pytest.mark.parametrize(("mode", "kinds"), [("hpa", {"HorizontalPodAutoscaler"}), ("none", set())])
def test_the_other_worker_scaling_modes(mode: str, kinds: set[str]) -> None:
    docs = render({"worker": {"autoscaling": {"mode": mode}}})
    scalers = {
        d["kind"]
        for d in docs
        if component(d) == "worker" and d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    assert scalers == kinds
    worker = named(docs, "Deployment", "authstack-worker")["spec"]
    assert ("replicas" in worker) == (mode == "none")


def test_values_schema_refuses_an_unknown_mode_or_a_misspelt_key() -> None:
    with pytest.raises(helm_python.HelmError, match="'keda', 'hpa', 'none'"):
        render({"worker": {"autoscaling": {"mode": "vpa"}}})
    with pytest.raises(helm_python.HelmError, match="'existingSecrets' not allowed"):
        render({"existingSecrets": "authstack-prod-secrets"})


def test_an_external_clickhouse_replaces_the_server() -> None:
    url = "https://clickhouse.example.org:8443"
    docs = render({"clickhouse": {"enabled": False, "url": url}})
    assert not of_kind(docs, "StatefulSet")
    assert named(docs, "ConfigMap", "authstack-clickhouse")["data"]["STACK_CLICKHOUSE_URL"] == url
    assert [j["metadata"]["name"] for j in of_kind(docs, "Job")] == ["authstack-migrator"]
    assert "authstack-clickhouse" not in {
        p["metadata"]["name"] for p in of_kind(docs, "NetworkPolicy")
    }


def test_extra_env_and_pod_annotations_reach_the_pods() -> None:
    extra = [{"name": "STACK_LOG_LEVEL", "value": "debug"}]
    docs = render(
        {"api": {"extraEnv": extra, "podAnnotations": {"a": "1"}}, "podAnnotations": {"b": "2"}}
    )
    api = named(docs, "Deployment", "authstack-api")["spec"]["template"]
    assert api["spec"]["containers"][0]["env"][-1] == extra[0]
    assert {"a": "1", "b": "2"}.items() <= api["metadata"]["annotations"].items()
    # a configuration change rolls the pods (their template carries the ConfigMaps' checksum)
    changed = render({"smtp": {"host": "mail.example.net"}})
    before = named(render(), "Deployment", "authstack-api")["spec"]["template"]["metadata"]
    after = named(changed, "Deployment", "authstack-api")["spec"]["template"]["metadata"]
    assert before["annotations"]["checksum/config"] != after["annotations"]["checksum/config"]
