"""The cron runner against a real HTTP server on loopback and against the real API."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from authstack_cron.runner import ENDPOINTS
from tests.conftest import free_port, running_api
from tests.factories import run_captured, serving

SECRET = secrets.token_urlsafe(32)


class Recorder(ThreadingHTTPServer):
    """Answers each path with a configured status and records (path, Authorization) pairs."""

    def __init__(self, statuses: dict[str, int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server: Recorder = self.server  # type: ignore[assignment]
                with server.lock:
                    server.calls.append((self.path, self.headers.get("Authorization")))
                status = server.statuses.get(self.path, 404)
                body = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder({})
    with serving(server):
        yield server


def runner_env(api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACK_", "CRON_SECRET"))}
    env.pop("NEXT_PUBLIC_STACK_API_URL", None)
    return {
        **env,
        "CRON_SECRET": SECRET,
        "NEXT_PUBLIC_SERVER_STACK_API_URL": api_url,
        "STACK_CRON_TIMEOUT_SECONDS": "5",
        **extra,
    }


def run_once(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_captured(
        [sys.executable, "-m", "authstack_cron", "--once", *args], timeout=60, env=env
    )


def log_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_once_calls_the_three_endpoints_with_the_bearer_secret(recorder: Recorder) -> None:
    recorder.statuses = dict.fromkeys(ENDPOINTS.values(), 200)
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 0, result.stderr
    assert recorder.calls == [(path, f"Bearer {SECRET}") for path in ENDPOINTS.values()]
    assert SECRET not in result.stderr


def test_not_implemented_endpoints_are_logged_and_tolerated(recorder: Recorder) -> None:
    recorder.statuses = {ENDPOINTS["email-queue-step"]: 200}  # the other two answer 404
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 0, result.stderr
    skipped = [r for r in log_lines(result.stderr) if r["status"] == 404]
    assert {r["endpoint"] for r in skipped} == {
        "external-db-sync-sequencer",
        "external-db-sync-poller",
    }
    assert all("not implemented" in str(r["event"]) for r in skipped)


@pytest.mark.parametrize("status", [500, 401])
def test_a_failing_endpoint_fails_once_but_the_others_are_still_called(
    recorder: Recorder, status: int
) -> None:
    recorder.statuses = dict.fromkeys(ENDPOINTS.values(), 200)
    recorder.statuses[ENDPOINTS["email-queue-step"]] = status
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 1
    assert [path for path, _ in recorder.calls] == list(ENDPOINTS.values())
    errors = [r for r in log_lines(result.stderr) if r["level"] == "error"]
    assert [r["endpoint"] for r in errors] == ["email-queue-step"]
    if status == 401:
        assert "CRON_SECRET" in str(errors[0]["event"])


def test_endpoint_option_limits_the_calls(recorder: Recorder) -> None:
    recorder.statuses = dict.fromkeys(ENDPOINTS.values(), 200)
    result = run_once(runner_env(recorder.url), "--endpoint", "external-db-sync-poller")
    assert result.returncode == 0, result.stderr
    assert [path for path, _ in recorder.calls] == [ENDPOINTS["external-db-sync-poller"]]


def test_unreachable_api_is_reported_not_crashed() -> None:
    result = run_once(runner_env(f"http://127.0.0.1:{free_port()}"))
    assert result.returncode == 1
    records = log_lines(result.stderr)
    assert [r["event"] for r in records] == ["API unreachable"] * 3
    assert "Traceback" not in result.stderr


def test_missing_secret_stops_start_up(recorder: Recorder) -> None:
    env = runner_env(recorder.url)
    del env["CRON_SECRET"]
    result = run_once(env)
    assert result.returncode == 2
    assert "CRON_SECRET" in result.stderr
    assert recorder.calls == []


def test_schedule_keeps_running_through_failures_and_stops_on_sigterm(
    recorder: Recorder,
) -> None:
    recorder.statuses = {
        ENDPOINTS["email-queue-step"]: 200,
        ENDPOINTS["external-db-sync-sequencer"]: 500,
    }  # the poller answers 404
    process = subprocess.Popen(
        [sys.executable, "-m", "authstack_cron"],
        env=runner_env(recorder.url, STACK_CRON_INTERVAL_SECONDS="0.2"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(recorder.calls) < 9:
            time.sleep(0.05)
        assert process.poll() is None, "the runner died"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    paths = [path for path, _ in recorder.calls]
    assert len(paths) >= 9
    # three ticks at least, each calling the three endpoints in order
    assert paths[:9] == list(ENDPOINTS.values()) * 3
    assert log_lines(stderr)[-1]["event"] == "cron runner stopped"


def test_runner_against_the_real_api(migrated_database: str) -> None:
    """Whatever the API implements so far answers 2xx; the rest answers 404 and is tolerated."""
    with running_api(migrated_database, CRON_SECRET=SECRET) as server:
        result = run_once(runner_env(server.url))
    assert result.returncode == 0, result.stderr
    statuses = {r["endpoint"]: r["status"] for r in log_lines(result.stderr)}
    assert set(statuses) == set(ENDPOINTS)
    assert all(status in (200, 404) for status in statuses.values()), statuses
