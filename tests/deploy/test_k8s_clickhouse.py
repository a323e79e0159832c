"""k8s/: the ClickHouse server of analytics, hardened, reachable by the api and the migrator only.

Reads the overlay as kustomize renders it (strict validation of every object, this StatefulSet
included, is in test_k8s.py).
"""

from __future__ import annotations

import pytest
import yaml

from authstack_core.settings.clickhouse import ClickHouseSection
from tests.deploy.conftest import ROOT
from tests.deploy.k8s_docs import (
    Doc,
    clickhouse_pod,
    component,
    egress_ports,
    named,
    of_kind,
    pod_specs,
)
from tests.environment import use_only

LABELS = {"app.kubernetes.io/name": "authstack", "app.kubernetes.io/component": "clickhouse"}
# The components that talk to ClickHouse; the worker, dashboard and cron never do.
USERS = {"api", "migrator"}
# Where the image's entrypoint and the server write: data, the admin user it defines, logs, /tmp.
WRITABLE = {"/var/lib/clickhouse", "/etc/clickhouse-server/users.d", "/var/log/clickhouse-server"}


def container(rendered: list[Doc]) -> Doc:
    (only,) = clickhouse_pod(rendered)["containers"]
    return only


def env_of(app: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in app.get("env", [])}


def test_one_server_on_a_persistent_volume_behind_a_service_on_8123(rendered: list[Doc]) -> None:
    statefulset = named(rendered, "StatefulSet", "authstack-clickhouse")
    spec = statefulset["spec"]
    assert spec["replicas"] == 1
    assert spec["template"]["metadata"]["labels"] == LABELS
    assert spec["selector"]["matchLabels"] == LABELS
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    mounts = {m["mountPath"]: m["name"] for m in container(rendered)["volumeMounts"]}
    assert mounts["/var/lib/clickhouse"] == claim["metadata"]["name"]

    service = named(rendered, "Service", spec["serviceName"])
    assert service["spec"]["selector"] == LABELS
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8123, "http")
    assert container(rendered)["ports"] == [{"name": "http", "containerPort": 8123}]
    # the api and the migrator are pointed at that Service
    config = named(rendered, "ConfigMap", "authstack-clickhouse")["data"]
    assert config["STACK_CLICKHOUSE_URL"] == f"http://{service['metadata']['name']}:8123"


def test_the_server_runs_as_its_image_user_without_privileges(rendered: list[Doc]) -> None:
    pod = clickhouse_pod(rendered)
    security = pod["securityContext"]
    # uid/gid 101 is the image's clickhouse user: its entrypoint neither chowns nor switches users
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"]) == (101, 101, 101)
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for shared in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(shared), shared
    sc = container(rendered)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert not sc.get("privileged")
    # a read-only root still leaves every path the server writes writable
    mounts = {m["mountPath"] for m in container(rendered)["volumeMounts"]}
    assert mounts >= WRITABLE
    assert not [v for v in pod["volumes"] if "hostPath" in v]


def test_probes_on_ping_requests_limits_and_the_pinned_image_compose_runs(
    rendered: list[Doc],
) -> None:
    server = container(rendered)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/ping", "port": "http"}, probe
    for bound in ("requests", "limits"):
        assert set(server["resources"][bound]) == {"cpu", "memory"}, bound
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert server["image"] == compose["services"]["clickhouse"]["image"]
    assert server["image"].rsplit(":", 1)[1][0].isdigit()  # a version, never `latest`


def test_the_admin_user_comes_from_the_config_map_and_its_password_from_the_secret(
    rendered: list[Doc],
) -> None:
    env = {e["name"]: e for e in container(rendered)["env"]}
    assert env["CLICKHOUSE_USER"]["valueFrom"]["configMapKeyRef"] == {
        "name": "authstack-clickhouse",
        "key": "STACK_CLICKHOUSE_ADMIN_USER",
    }
    assert env["CLICKHOUSE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "authstack-secrets",
        "key": "STACK_CLICKHOUSE_ADMIN_PASSWORD",
    }
    # that user creates limited_user and the row policies
    assert env["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"]["value"] == "1"
    assert not [e for e in env.values() if "PASSWORD" in e["name"] and "value" in e]


def test_only_the_api_and_the_migrator_get_the_clickhouse_settings(
    rendered: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {"STACK_CLICKHOUSE_ADMIN_PASSWORD", "STACK_CLICKHOUSE_EXTERNAL_PASSWORD"}
    for name, spec in pod_specs(rendered):
        (app,) = spec["containers"]
        config_maps = {
            e["configMapRef"]["name"] for e in app.get("envFrom", []) if "configMapRef" in e
        }
        env = env_of(app)
        if name in USERS:
            assert "authstack-clickhouse" in config_maps, name
            for key in secrets:
                assert env[key]["valueFrom"]["secretKeyRef"] == {
                    "name": "authstack-secrets",
                    "key": key,
                }, (name, key)
        else:
            assert "authstack-clickhouse" not in config_maps, name
            assert not secrets & set(env), name
    # the ConfigMap describes a server to our settings, with the contract's defaults
    config = named(rendered, "ConfigMap", "authstack-clickhouse")["data"]
    use_only(monkeypatch, config)
    section = ClickHouseSection()
    assert section.clickhouse_store == "server"
    assert (
        section.clickhouse_admin_user
        == ClickHouseSection.model_fields["clickhouse_admin_user"].get_default()
    )
    assert section.clickhouse_database == "default"


def test_network_policies_let_only_the_api_and_migrator_reach_clickhouse(
    rendered: list[Doc],
) -> None:
    policies = {p["metadata"]["name"]: p for p in of_kind(rendered, "NetworkPolicy")}
    # everything not allowed below is denied: the default deny selects the server too
    deny = policies["authstack-default-deny"]["spec"]["podSelector"]["matchLabels"]
    assert deny.items() <= LABELS.items()

    policy = policies["authstack-clickhouse"]["spec"]
    assert policy["podSelector"] == {"matchLabels": LABELS}
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert "egress" not in policy  # it opens no connection of its own
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8123}]
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"}  # no namespaceSelector: this namespace only
    expressions = {e["key"]: e for e in peer["podSelector"]["matchExpressions"]}
    assert expressions["app.kubernetes.io/name"]["values"] == ["authstack"]
    assert set(expressions["app.kubernetes.io/component"]["values"]) == USERS
    assert {e["operator"] for e in expressions.values()} == {"In"}

    # no other policy lets anything in to the server
    for name, other in policies.items():
        if name == "authstack-clickhouse" or "Ingress" not in other["spec"]["policyTypes"]:
            continue
        selector = other["spec"]["podSelector"]
        labels = selector.get("matchLabels", {})
        selects_server = labels.items() <= LABELS.items() and not selector.get("matchExpressions")
        assert not (selects_server and other["spec"].get("ingress")), name
    databases = policies["authstack-databases"]["spec"]["podSelector"]["matchExpressions"]
    assert all("authstack" not in e["values"] for e in databases)

    # and the egress side: the api and migrator may open 8123, the others may not
    for name in ("api", "migrator", "worker", "dashboard", "cron"):
        opens = any(8123 in ports for ports, _ in egress_ports(policies[f"authstack-{name}"]))
        assert opens == (name in USERS), name


def test_clickhouse_is_ready_before_the_migrator_runs(rendered: list[Doc]) -> None:
    def wave(doc: Doc) -> int:
        return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))

    (job,) = of_kind(rendered, "Job")
    for doc in rendered:
        if component(doc) == "clickhouse":
            assert wave(doc) < wave(job), doc["metadata"]["name"]
