"""The cron runner against a real HTTP server on loopback and against the real API."""

from __future__ import annotations

import io
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
from typing import NamedTuple

import httpx
import pytest

from authstack_cron.runner import ENDPOINTS, HOUR_S, Log, run_forever
from tests.conftest import CRON_SECRET, Project, free_port, running_api
from tests.emails.test_failed_emails_digest import digest, digests_for, entry_of, fail_mail_to
from tests.factories import run_captured, serving
from tests.mail import MailSink, WorkerProcess, wait_until

SECRET = secrets.token_urlsafe(32)
PATHS = [e.path for e in ENDPOINTS.values()]
EVERY_TICK = [e.path for e in ENDPOINTS.values() if not e.every]  # the three steps
HOURLY = [e.path for e in ENDPOINTS.values() if e.every]  # the digest and pruning (POSTs)
DIGEST = ENDPOINTS["failed-emails-digest"].path
PRUNE = ENDPOINTS["prune-expired"].path


class Call(NamedTuple):
    method: str
    path: str
    authorization: str | None
    content_length: str | None
    body: bytes


class Recorder(ThreadingHTTPServer):
    """Answers each path with a configured status and records every request as a ``Call``."""

    def __init__(self, statuses: dict[str, int]) -> None:
        self.statuses = statuses
        self.calls: list[Call] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server: Recorder = self.server  # type: ignore[assignment]
                length = self.headers.get("Content-Length")
                call = Call(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    length,
                    self.rfile.read(int(length)) if length else b"",
                )
                with server.lock:
                    server.calls.append(call)
                status = server.statuses.get(self.path, 404)
                body = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.do_GET()  # recorded and answered alike

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def paths(self) -> list[str]:
        return [call.path for call in self.calls]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder({})
    with serving(server):
        yield server


def runner_env(api_url: str, secret: str = SECRET, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACK_", "CRON_SECRET"))}
    env.pop("NEXT_PUBLIC_STACK_API_URL", None)
    return {
        **env,
        "CRON_SECRET": secret,
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


def test_once_calls_every_endpoint_with_its_method_and_the_bearer_secret(
    recorder: Recorder,
) -> None:
    recorder.statuses = dict.fromkeys(PATHS, 200)
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 0, result.stderr
    bearer = f"Bearer {SECRET}"
    steps = [Call("GET", path, bearer, None, b"") for path in EVERY_TICK]
    posted = [Call("POST", path, bearer, "0", b"") for path in HOURLY]  # empty bodies
    assert HOURLY == [DIGEST, PRUNE]
    assert recorder.calls == [*steps, *posted]
    assert SECRET not in result.stderr


def test_once_with_the_digest_endpoint_posts_it_once(recorder: Recorder) -> None:
    recorder.statuses = {DIGEST: 200}
    result = run_once(runner_env(recorder.url), "--endpoint", "failed-emails-digest")
    assert result.returncode == 0, result.stderr
    assert recorder.calls == [Call("POST", DIGEST, f"Bearer {SECRET}", "0", b"")]
    assert [r["endpoint"] for r in log_lines(result.stderr)] == ["failed-emails-digest"]


def test_not_implemented_endpoints_are_logged_and_tolerated(recorder: Recorder) -> None:
    recorder.statuses = {ENDPOINTS["email-queue-step"].path: 200}  # the others answer 404
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 0, result.stderr
    skipped = [r for r in log_lines(result.stderr) if r["status"] == 404]
    assert {r["endpoint"] for r in skipped} == {
        "external-db-sync-sequencer",
        "external-db-sync-poller",
        "failed-emails-digest",
        "prune-expired",
    }
    assert all("not implemented" in str(r["event"]) for r in skipped)


@pytest.mark.parametrize("status", [500, 401])
def test_a_failing_endpoint_fails_once_but_the_others_are_still_called(
    recorder: Recorder, status: int
) -> None:
    recorder.statuses = dict.fromkeys(PATHS, 200)
    recorder.statuses[ENDPOINTS["email-queue-step"].path] = status
    result = run_once(runner_env(recorder.url))
    assert result.returncode == 1
    assert recorder.paths == PATHS
    errors = [r for r in log_lines(result.stderr) if r["level"] == "error"]
    assert [r["endpoint"] for r in errors] == ["email-queue-step"]
    if status == 401:
        assert "CRON_SECRET" in str(errors[0]["event"])


def test_endpoint_option_limits_the_calls(recorder: Recorder) -> None:
    recorder.statuses = dict.fromkeys(PATHS, 200)
    result = run_once(runner_env(recorder.url), "--endpoint", "external-db-sync-poller")
    assert result.returncode == 0, result.stderr
    assert recorder.paths == [ENDPOINTS["external-db-sync-poller"].path]


def test_unreachable_api_is_reported_not_crashed() -> None:
    result = run_once(runner_env(f"http://127.0.0.1:{free_port()}"))
    assert result.returncode == 1
    records = log_lines(result.stderr)
    assert [r["event"] for r in records] == ["API unreachable"] * len(ENDPOINTS)
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
        ENDPOINTS["email-queue-step"].path: 200,
        ENDPOINTS["external-db-sync-sequencer"].path: 500,
    }  # the poller, the digest and pruning answer 404
    three_ticks = len(PATHS) + 2 * len(EVERY_TICK)
    process = subprocess.Popen(
        [sys.executable, "-m", "authstack_cron"],
        env=runner_env(recorder.url, STACK_CRON_INTERVAL_SECONDS="0.2"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(recorder.calls) < three_ticks:
            time.sleep(0.05)
        assert process.poll() is None, "the runner died"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    paths = recorder.paths
    assert len(paths) >= three_ticks
    # three ticks at least, each calling the three steps in order; the first tick the hourly
    # endpoints too
    assert paths[:three_ticks] == PATHS + EVERY_TICK * 2
    assert log_lines(stderr)[-1]["event"] == "cron runner stopped"


def test_forever_calls_the_digest_once_an_hour_and_the_others_every_tick(
    recorder: Recorder,
) -> None:
    recorder.statuses = dict.fromkeys(PATHS, 200)
    interval, ticks = 300.0, 37  # three hours of clock time and one tick more
    start = 123456.789  # sums of the interval from here come out a hair early at tick 36
    stop = threading.Event()
    read = 0

    def clock() -> float:
        """Each tick takes exactly one interval, so the runner never waits on the real clock."""
        nonlocal read
        now = start + read * interval
        read += 1
        if read > ticks:
            stop.set()
        return now

    log = io.StringIO()
    run_forever(
        recorder.url,
        SECRET,
        list(ENDPOINTS),
        interval=interval,
        timeout=5,
        stop=stop,
        log=Log(log),
        clock=clock,
    )
    per_hour = int(HOUR_S / interval)
    expected = []
    for tick in range(ticks):
        expected += EVERY_TICK + (HOURLY if tick % per_hour == 0 else [])
    assert recorder.paths == expected
    assert recorder.paths.count(DIGEST) == 4  # on the first tick, then each hour after it
    assert recorder.paths.count(PRUNE) == 4
    digests = [c for c in recorder.calls if c.path == DIGEST]
    assert {(c.method, c.authorization, c.body) for c in digests} == {
        ("POST", f"Bearer {SECRET}", b"")
    }
    assert json.loads(log.getvalue().splitlines()[-1])["event"] == "cron runner stopped"


def test_the_runner_delivers_the_failed_emails_digest(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    mail_sink: MailSink,
    mail_worker: WorkerProcess,
) -> None:
    """Against the session's API: the runner's POST mails the project's admins its failed mail
    and moves the day's watermark (nothing is left for another call)."""
    sink, project = own_server
    sink.behave(rcpt_reply="550 5.1.1 No such mailbox")
    [bounced] = fail_mail_to(http, project, 1)
    result = run_once(
        runner_env(str(http.base_url), CRON_SECRET), "--endpoint", "failed-emails-digest"
    )
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in log_lines(result.stderr)] == [200]
    [mail] = wait_until(lambda: digests_for(mail_sink, project), what="the digest")
    assert bounced in mail["html"]
    assert entry_of(digest(http, dry_run="true"), project) is None


def test_runner_against_the_real_api(migrated_database: str) -> None:
    """Whatever the API implements so far answers 2xx; the rest answers 404 and is tolerated."""
    with running_api(migrated_database, CRON_SECRET=SECRET) as server:
        result = run_once(runner_env(server.url))
    assert result.returncode == 0, result.stderr
    statuses = {r["endpoint"]: r["status"] for r in log_lines(result.stderr)}
    assert set(statuses) == set(ENDPOINTS)
    assert all(status in (200, 404) for status in statuses.values()), statuses
    assert statuses["failed-emails-digest"] == 200  # POST /api/latest/... reaches the route
    assert statuses["prune-expired"] == 200
