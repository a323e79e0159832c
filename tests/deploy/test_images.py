"""Each workspace service starts from its image's own command, against the real PostgreSQL.

The image is replayed outside Docker (see image.py): its builder's ``uv sync`` lines install the
service from copies of only the files the Dockerfile copies, then ``tini -- python -m ...`` runs
with the runtime stage's ENV (production mode included) and the secrets `deploy/make-env.py`
generates. A service that joins the workspace joins these tests: one-shot services must exit 0
twice, HTTP services must pass their HEALTHCHECK, the others must keep running; all must stop
cleanly on SIGTERM.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.deploy.conftest import ROOT, workspace_services
from tests.deploy.image import Image, replay_build
from tests.factories import free_port, fresh_database

ONE_SHOT = {"migrator"}
# Variables that differ per service in a real deployment: where it listens, what it talks to.
PORT_VARIABLE = {"api": "STACK_API_PORT", "dashboard": "STACK_DASHBOARD_PORT"}
STOP_TIMEOUT_S = 25
# After a graceful stop uvicorn re-raises the SIGTERM it caught, so the process ends "killed by
# SIGTERM" (128 + 15), which tini passes on; Docker and Kubernetes treat that as a clean stop.
# The drain test below proves the API did finish its work first. A crash (1) or a SIGKILL after a
# hung shutdown (137) is never accepted.
CLEAN_STOP = {0, 128 + signal.SIGTERM}


def make_env_file(path: Path) -> dict[str, str]:
    subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "make-env.py"), "--output", str(path)],
        check=True,
        capture_output=True,
    )
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Image]:
    """Build (replay) each service's image once per session, on first use."""
    built: dict[str, Image] = {}

    def get(service: str) -> Image:
        if service not in built:
            built[service] = replay_build(service, tmp_path_factory.mktemp(f"image-{service}"))
        return built[service]

    return get


@pytest.fixture
def image_database() -> Iterator[str]:
    with fresh_database("authstack_image") as url:
        yield url


@pytest.fixture
def deployment_env(tmp_path: Path, image_database: str) -> dict[str, str]:
    """What an operator passes at `docker run`: make-env.py's secrets, local addresses."""
    env = make_env_file(tmp_path / ".env")
    env["STACK_DATABASE_CONNECTION_STRING"] = image_database
    env["STACK_REDIS_URL"] = "redis://127.0.0.1:6379/15"
    # make-env.py names compose's ClickHouse server, which does not run here, and the images hold
    # no embedded engine: these runs go without analytics (the analytics tests use the engine).
    env["STACK_CLICKHOUSE_URL"] = "disabled"
    # Likewise compose's SeaweedFS: without it a production API stops at its storage check.
    env["STACK_S3_ENDPOINT"] = ""
    env["STACK_LOG_LEVEL"] = "warning"
    return env


def run_migrator(image: Callable[[str], Image], env: dict[str, str]) -> None:
    migrator = image("migrator")
    result = migrator.run(env, timeout=120)
    assert result.returncode == 0, result.stderr


def start(image: Image, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        image.command(),
        cwd=image.workdir,
        env=image.environment(image.dockerfile.runtime, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def healthcheck_passes(image: Image, env: dict[str, str]) -> bool:
    argv = image.healthcheck()
    assert argv is not None
    result = subprocess.run(
        argv,
        cwd=image.workdir,
        env=image.environment(image.dockerfile.runtime, env),
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0


def wait_healthy(image: Image, env: dict[str, str], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"{image.service} exited with {process.returncode}:\n{output}")
        if healthcheck_passes(image, env):
            return
        time.sleep(0.3)
    raise AssertionError(f"{image.service}: HEALTHCHECK did not pass within 60 s")


def stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM to tini (PID 1 in the container), as `docker stop` and Kubernetes send it."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"did not stop within {STOP_TIMEOUT_S} s of SIGTERM") from None


def test_workspace_has_the_services_this_file_knows_how_to_start() -> None:
    assert {"api", "migrator"} <= set(workspace_services())


@pytest.mark.parametrize("service", workspace_services())
def test_service_starts_from_its_image_command(
    service: str, image: Callable[[str], Image], deployment_env: dict[str, str]
) -> None:
    built = image(service)
    if service in ONE_SHOT:
        run_migrator(image, deployment_env)
        run_migrator(image, deployment_env)  # a re-run (every upgrade) is a no-op
        with psycopg.connect(deployment_env["STACK_DATABASE_CONNECTION_STRING"]) as conn:
            row = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
            assert row is not None
            assert row[0] > 0
            project = conn.execute("SELECT id FROM projects WHERE id = 'internal'").fetchone()
            assert project is not None
        return

    if "STACK_DATABASE_CONNECTION_STRING" in deployment_env and service != "cron":
        run_migrator(image, deployment_env)
    env = dict(deployment_env)
    if service in PORT_VARIABLE:
        env[PORT_VARIABLE[service]] = str(free_port())
    if service == "cron":
        env["NEXT_PUBLIC_SERVER_STACK_API_URL"] = f"http://127.0.0.1:{free_port()}"
    process = start(built, env)
    try:
        if built.healthcheck() is not None:
            wait_healthy(built, env, process)
        else:
            time.sleep(3)
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
    finally:
        code = stop(process) if process.poll() is None else process.returncode
    assert code in CLEAN_STOP, process.stdout.read() if process.stdout else ""


def test_api_image_proves_the_database_and_drains_requests_on_sigterm(
    image: Callable[[str], Image], deployment_env: dict[str, str]
) -> None:
    api = image("api")
    run_migrator(image, deployment_env)
    port = free_port()
    env = {**deployment_env, "STACK_API_PORT": str(port)}
    process = start(api, env)
    try:
        wait_healthy(api, env, process)
        health = httpx.get(f"http://127.0.0.1:{port}/health?db=1", timeout=5)
        assert health.json() == {"status": "ok", "db": "ok"}

        # A request whose body is still arriving when SIGTERM comes must still get its answer.
        body = b'{"email": "nobody@example.com", "password": "not-the-password"}'
        head = (
            "POST /api/v1/auth/password/sign-in HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            "x-stack-access-type: client\r\n"
            "x-stack-project-id: internal\r\n"
            "x-stack-publishable-client-key: "
            f"{deployment_env['STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(head + body[:10])
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert process.poll() is None, "exited with a request in flight"
            with pytest.raises(ConnectionRefusedError):  # no new connections once draining
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            conn.sendall(body[10:])
            answer = conn.recv(65536)
        assert answer.startswith(b"HTTP/1.1 "), answer[:100]
        assert int(answer.split()[1]) < 500, answer[:300]
        assert process.wait(timeout=STOP_TIMEOUT_S) in CLEAN_STOP
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_image_refuses_to_start_with_example_secrets(
    image: Callable[[str], Image], deployment_env: dict[str, str]
) -> None:
    """The images run in production mode: secrets copied from documentation stop them."""
    api = image("api")
    env = {
        **deployment_env,
        "CRON_SECRET": "<secret>",
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD": "password",
        "STACK_API_PORT": str(free_port()),
    }
    result = api.run(env, timeout=60)
    assert result.returncode == 2
    assert "refusing to start in production mode" in result.stderr
    assert "CRON_SECRET" in result.stderr
    assert "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD" in result.stderr


def test_image_holds_only_its_own_packages(image: Callable[[str], Image]) -> None:
    """No dev tools, no other service, and no source tree in any runtime image."""
    for service in workspace_services():
        built = image(service)
        venv = Path(built.host_path("/app/.venv"))
        site = next(venv.glob("lib/python*/site-packages"))
        installed = {p.name for p in site.iterdir()}
        assert f"authstack_{service}" in installed
        others = {f"authstack_{s}" for s in workspace_services() if s != service}
        assert not installed & others, installed & others
        assert not installed & {"pytest", "mypy", "ruff", "kubernetes_validate"}
        # nor the embedded ClickHouse engine of `make dev` and the tests
        assert not [name for name in installed if name.startswith("chdb")], service
        # installed as wheels: no link back to a source checkout
        assert not list(site.glob("*.pth")) or all(
            "/src" not in p.read_text() for p in site.glob("*.pth")
        )
