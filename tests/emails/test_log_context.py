"""Log context: domain lines carry the request id of the API request, or the worker's message id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.helpers import PASSWORD, sign_up, unique_email
from tests.conftest import Project, create_project, free_port, settings_env
from tests.mail import MailSink, WorkerProcess

CALLBACK = "http://localhost:3000/handler/email-verification"
NOT_ENQUEUED = "email wake-up not enqueued; the cron step will"


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def _wait_for(path: Path, predicate: Any, what: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [r for r in _records(path) if predicate(r)]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no log line with {what} in:\n{path.read_text(errors='replace')}")


@pytest.fixture
def api_without_redis(migrated_database: str) -> Iterator[tuple[str, Path]]:
    """The API at info level, its stderr in a file, with a Redis URL nobody listens on.

    An unreachable Redis makes the email domain log a warning while the request runs.
    """
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="api-", suffix=".log")[1])
    env = {
        **os.environ,
        **settings_env(
            migrated_database,
            STACK_LOG_LEVEL="info",
            STACK_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        ),
        "STACK_API_PORT": str(port),
        "STACK_API_HOST": "127.0.0.1",
    }
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "authstack_api"], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "API did not start within 30 s"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_path.unlink(missing_ok=True)


def test_domain_log_line_carries_the_request_id_of_its_request(
    api_without_redis: tuple[str, Path], migrated_database: str
) -> None:
    url, log_path = api_without_redis
    project: Project = create_project(migrated_database)
    with httpx.Client(base_url=url, timeout=30) as http:
        signed_up = http.post(
            "/api/v1/auth/password/sign-up",
            headers=project.headers(),
            json={
                "email": unique_email("logctx"),
                "password": PASSWORD,
                "verification_callback_url": CALLBACK,
            },
        )
        assert signed_up.status_code == 200, signed_up.text
        request_id = signed_up.headers["x-stack-request-id"]
        # A later request on the same connection gets its own id; the first one's does not linger.
        later = http.get("/health")
        later_id = later.headers["x-stack-request-id"]
    assert later_id != request_id

    [domain_line] = _wait_for(log_path, lambda r: r.get("event") == NOT_ENQUEUED, NOT_ENQUEUED)
    assert domain_line["request_id"] == request_id
    assert domain_line["service"] == "api"

    # The canonical line is written after the answer is sent: wait for each one by its id.
    [signed_up_line] = _wait_for(
        log_path,
        lambda r: r.get("event") == "request" and r.get("request_id") == request_id,
        "the sign-up's request line",
    )
    assert signed_up_line["path"] == "/api/v1/auth/password/sign-up"
    [later_line] = _wait_for(
        log_path,
        lambda r: r.get("event") == "request" and r.get("request_id") == later_id,
        "the health check's request line",
    )
    assert later_line["path"] == "/health"
    # Lines written before any request (start-up) carry no request id; every later line that
    # carries one carries the id of a request the API served (health probes included).
    records = _records(log_path)
    first = next(i for i, r in enumerate(records) if "request_id" in r)
    assert records[:first], "the API logs something at start-up"
    served = {r["request_id"] for r in records if r.get("event") == "request"}
    assert {r["request_id"] for r in records if "request_id" in r} <= served


def test_worker_log_lines_carry_the_message_id(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("logctx-worker")
    sign_up(http, project, email, verification_callback_url=CALLBACK)
    [message] = mail_sink.wait_for(email)
    outbox_id = message["message_id"].strip("<>").split("@")[0]

    [sent] = _wait_for(
        mail_worker.log_path,
        lambda r: r.get("event") == "email sent" and r.get("outbox_id") == outbox_id,
        f"'email sent' for {outbox_id}",
    )
    assert sent["service"] == "worker"
    assert sent["actor"]
    assert len(sent["message_id"]) >= 32  # dramatiq's message id (a UUID)
    assert "request_id" not in sent
