"""k8s/components/prometheus: ServiceMonitors valid by the Prometheus Operator's CRD schema,
scraping the api's /metrics and the worker's metrics port with the token, and nothing more open."""

from __future__ import annotations

import copy

from tests.deploy.k8s_docs import Doc, component, named, of_kind, pod_specs
from tests.deploy.test_k8s import validate_crds

TOKEN_REF = {"name": "authstack-secrets", "key": "STACK_METRICS_TOKEN"}


def container(docs: list[Doc], name: str) -> Doc:
    [spec] = [spec for c, spec in pod_specs(docs) if c == name]
    found: Doc = spec["containers"][0]
    return found


def env_of(c: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in c.get("env", [])}


def test_service_monitors_pass_the_operators_crd_schema(rendered: list[Doc]) -> None:
    monitors = of_kind(rendered, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"authstack-api", "authstack-worker"}
    result = validate_crds(monitors)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 2


def test_the_schema_check_catches_a_wrong_field(rendered: list[Doc]) -> None:
    monitor = copy.deepcopy(of_kind(rendered, "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["authorization"]["type"] = 7  # a string in the schema
    result = validate_crds([monitor])
    assert result.returncode == 1, result.stdout


def test_the_api_and_the_worker_are_scraped_with_the_token(rendered: list[Doc]) -> None:
    api_service = named(rendered, "Service", "authstack-api")
    worker_service = named(rendered, "Service", "authstack-worker-metrics")
    for name, service, port in (
        ("api", api_service, "http"),
        ("worker", worker_service, "metrics"),
    ):
        monitor = named(rendered, "ServiceMonitor", f"authstack-{name}")
        assert component(monitor) == name
        labels = service["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
        # exactly one Service matches: the worker's monitor does not scrape the api or vice versa
        matching = [
            s
            for s in of_kind(rendered, "Service")
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert matching == [service], name
        (endpoint,) = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == (port, "/metrics")
        assert endpoint["authorization"] == {"type": "Bearer", "credentials": TOKEN_REF}
        assert port in {p["name"] for p in service["spec"]["ports"]}
        # the container reads the same secret key
        token = env_of(container(rendered, name))["STACK_METRICS_TOKEN"]
        assert token["valueFrom"]["secretKeyRef"] == {**TOKEN_REF, "optional": True}


def test_the_worker_serves_metrics_on_its_named_port(rendered: list[Doc]) -> None:
    worker = container(rendered, "worker")
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9102}]
    env = env_of(worker)
    assert env["STACK_WORKER_METRICS_PORT"]["value"] == "9102"
    assert env["STACK_WORKER_METRICS_HOST"]["value"] == "0.0.0.0"  # noqa: S104 - a pod's port
    service = named(rendered, "Service", "authstack-worker-metrics")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9102, "targetPort": "metrics"}]


def test_only_the_monitoring_namespace_reaches_the_metrics_ports(rendered: list[Doc]) -> None:
    policy = named(rendered, "NetworkPolicy", "authstack-prometheus")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    selected = next(
        e["values"]
        for e in policy["spec"]["podSelector"]["matchExpressions"]
        if e["key"] == "app.kubernetes.io/component"
    )
    assert sorted(selected) == ["api", "worker"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert {p["port"] for p in rule["ports"]} == {8102, 9102}
