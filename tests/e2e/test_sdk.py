"""The official Stack Auth JS SDK, driven end to end against a live API.

Runs the Node scenarios in ``tests/e2e/sdk`` (``node --test``) once per SDK version: 2.8.108
(``@stackframe/js``, sends ``x-hexclave-*`` headers) and 2.8.102 (npm alias
``stackframe-js-2-8-102``, sends ``x-stack-*``). Each version gets its own fresh project.

``scenarios/`` are the fast ones (client, server, errors) against the session API. ``expiry/``
waits for a real access-token expiry, so it runs against a second API issuing 30 s tokens; both
versions' expiry runs start in the background when this module starts, so their wait overlaps the
fast scenarios.

Needs ``node`` (>= 20.14) and npm; ``node_modules`` is installed with ``npm ci`` when missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import (
    ApiServer,
    Project,
    create_project,
    ensure_node_modules,
    running_api,
)

SDK_DIR = Path(__file__).parent / "sdk"
SDK_PACKAGES = {  # version -> the package name it is installed under
    "2.8.108": "@stackframe/js",
    "2.8.102": "stackframe-js-2-8-102",
}
VERSIONS = list(SDK_PACKAGES)
NODE_TIMEOUT_S = 240
SHORT_TOKEN_LIFETIME = "30s"  # the SDK refuses fresh tokens living less than 20 s


def _installed_version(package: str) -> str | None:
    manifest = SDK_DIR / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


@pytest.fixture(scope="module")
def node_ready() -> None:
    """Node is on PATH and node_modules holds both pinned SDK versions (``npm ci`` if not)."""
    ensure_node_modules(
        SDK_DIR,
        lambda: all(_installed_version(p) == v for v, p in SDK_PACKAGES.items()),
        "the SDK end-to-end tests",
    )


def _scenario_files(folder: str) -> list[str]:
    files = sorted(str(p.relative_to(SDK_DIR)) for p in (SDK_DIR / folder).glob("*.test.js"))
    assert files, f"no scenario files in {SDK_DIR / folder}"
    return files


def _node_env(server: ApiServer, project: Project, version: str) -> dict[str, str]:
    return {
        **os.environ,
        "SDK_PACKAGE": SDK_PACKAGES[version],
        "SDK_EXPECTED_VERSION": version,
        "AUTHSTACK_API_URL": server.url,
        "AUTHSTACK_PROJECT_ID": project.id,
        "AUTHSTACK_PUBLISHABLE_CLIENT_KEY": project.publishable_client_key,
        "AUTHSTACK_SECRET_SERVER_KEY": project.secret_server_key,
        "NO_COLOR": "1",
    }


@dataclass
class NodeRun:
    """``node --test`` running in its own process group, output going to a temporary file."""

    label: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float

    @classmethod
    def start(cls, label: str, files: list[str], env: dict[str, str]) -> NodeRun:
        log = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the NodeRun, closed in close()
        command = [
            "node",
            "--test",
            "--test-force-exit",  # the SDK's keep-alive sockets would hold each file ~5 s
            "--test-concurrency=1",
            "--test-reporter=spec",
            *files,
        ]
        process = subprocess.Popen(
            command,
            cwd=SDK_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(label, process, log, time.monotonic())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def finish(self, timeout: float = NODE_TIMEOUT_S) -> None:
        """Wait for the run; fail the test with node's output unless it exited 0."""
        remaining = max(1.0, timeout - (time.monotonic() - self.started))
        try:
            returncode = self.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.label}: node --test timed out after {timeout} s\n{self.output()}")
        output = self.output()
        print(output)  # shown by pytest for failing tests
        assert returncode == 0, f"{self.label}: node --test exited {returncode}\n{output}"

    def close(self) -> None:
        self.kill()
        self.log.close()


@pytest.fixture(scope="module")
def short_token_api(migrated_database: str) -> Iterator[ApiServer]:
    """A second API on the same database, issuing access tokens that expire after 30 s."""
    with running_api(
        migrated_database, STACK_ACCESS_TOKEN_EXPIRATION_TIME=SHORT_TOKEN_LIFETIME
    ) as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def expiry_runs(node_ready: None, short_token_api: ApiServer) -> Iterator[dict[str, NodeRun]]:
    """Start the slow expiry scenario for every SDK version now, in the background."""
    runs: dict[str, NodeRun] = {}
    try:
        for version in VERSIONS:
            project = create_project(short_token_api.database_url)
            runs[version] = NodeRun.start(
                f"SDK {version} expiry",
                _scenario_files("expiry"),
                _node_env(short_token_api, project, version),
            )
        yield runs
    finally:
        for run in runs.values():
            run.close()


# What the scenarios need beyond a new project's defaults: client team creation (user.createTeam)
# and user/team API keys.
SCENARIO_CONFIG = {
    "teams.allowClientTeamCreation": True,
    "apiKeys.enabled.user": True,
    "apiKeys.enabled.team": True,
}


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_scenarios(node_ready: None, api: ApiServer, version: str) -> None:
    """Client sign-up/sign-in/update/sign-out, server user management, wrong-key errors; teams,
    invitations, permissions, API keys, anonymous upgrade and CLI sign-in (promptCliLogin)."""
    project = create_project(api.database_url, SCENARIO_CONFIG)
    run = NodeRun.start(
        f"SDK {version}", _scenario_files("scenarios"), _node_env(api, project, version)
    )
    try:
        run.finish()
    finally:
        run.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_refreshes_expired_access_token(expiry_runs: dict[str, NodeRun], version: str) -> None:
    """After a real 30 s expiry, getUser() and update() still work (the SDK refreshes)."""
    expiry_runs[version].finish()
