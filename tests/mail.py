"""Email test support: a real SMTP sink process, worker processes and outbox helpers.

Everything here is a real server on loopback: ``scripts/mail_sink.py`` (aiosmtpd) receives the
mail and ``python -m authstack_worker`` delivers it. A server that cannot be reached makes the
tests fail, never skip. The fixtures built on these (and Redis, TLS) are in mail_fixtures.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.conftest import CRON_SECRET, Project, settings_env
from tests.factories import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
SINK_SCRIPT = ROOT / "scripts" / "mail_sink.py"
SENDER = "noreply@authstack.test"
CODE_IN_LINK = re.compile(r"[?&]code=([0-9a-z]{45})\b")
OTP_IN_TEXT = re.compile(r"one-time code is:\s*([0-9A-Z]{6})\b")
# The worker in tests retries fast, so a drill of "retries then failed" takes a second.
FAST_RETRY_ENV = {"STACK_EMAIL_RETRY_BASE_SECONDS": "0.2", "STACK_EMAIL_MAX_ATTEMPTS": "3"}
# Tests send bursts of ordinary (not high-priority) mail per project: no capacity holds them back
# (tests/emails/test_capacity.py runs workers with a small capacity of their own).
UNTHROTTLED_ENV = {"STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR": "1000000"}
# Projects in these tests send through their own SMTP server on 127.0.0.1 (a sink): a private
# target, refused unless the operator allows private networks.
PRIVATE_TARGETS_ENV = {"STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"}


def wait_until(
    check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(interval)


# --- the SMTP sink ------------------------------------------------------------------------------


@dataclass
class MailSink:
    """``scripts/mail_sink.py`` running as its own process."""

    smtp_port: int
    http_port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        r = httpx.get(f"{self.http_url}/api/messages", params=params, timeout=10)
        r.raise_for_status()
        out: list[dict[str, Any]] = r.json()["messages"]
        return out

    def wait_for(self, to: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The first ``count`` messages to ``to``, waiting for them to arrive."""
        found: list[dict[str, Any]] = wait_until(
            lambda: (m := self.messages(to)) and len(m) >= count and m,
            timeout,
            what=f"{count} message(s) to {to}",
        )
        return found[:count]

    def raw(self, message_id: str) -> bytes:
        """A message's bytes exactly as the sink received them (parse with the email package)."""
        r = httpx.get(f"{self.http_url}/api/messages/{message_id}/raw", timeout=10)
        r.raise_for_status()
        return r.content

    def state(self) -> dict[str, Any]:
        r = httpx.get(f"{self.http_url}/api/state", timeout=10)
        r.raise_for_status()
        out: dict[str, Any] = r.json()
        return out

    def behave(self, **behaviour: Any) -> None:
        """rcpt_reply / data_reply ("451 ..." or "550 ..."), hold, hold_after (see the script)."""
        httpx.put(f"{self.http_url}/api/behaviour", json=behaviour, timeout=10).raise_for_status()

    def release(self) -> None:
        httpx.post(f"{self.http_url}/api/release", timeout=10).raise_for_status()

    def clear(self) -> None:
        httpx.delete(f"{self.http_url}/api/messages", timeout=10).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def start_sink(*args: str) -> MailSink:
    smtp_port, http_port = free_port(), free_port()
    log_path = Path(tempfile.mkstemp(prefix="mail-sink-", suffix=".log")[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(SINK_SCRIPT),
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(http_port),
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sink = MailSink(smtp_port, http_port, process, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the mail sink exited: {log_path.read_text()}")
        try:
            sink.state()
        except httpx.TransportError:
            return False
        return True

    wait_until(ready, 20, what="the mail sink")
    return sink


def code_in(message: dict[str, Any]) -> str:
    """The verification code of the link in an email's text."""
    match = CODE_IN_LINK.search(message["text"])
    assert match, f"no code link in: {message['text']!r}"
    return match.group(1)


def otp_in(message: dict[str, Any]) -> str:
    match = OTP_IN_TEXT.search(message["text"])
    assert match, f"no one-time code in: {message['text']!r}"
    return match.group(1)


# --- the worker ---------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no returning of messages, as when a node dies."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        stop_process(self.process, timeout=40)


def worker_env(database_url: str, sink: MailSink | None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        **settings_env(database_url),
        "STACK_EMAIL_SENDER": SENDER,
        "STACK_WORKER_THREADS": "4",
        "STACK_LOG_LEVEL": "info",
        **FAST_RETRY_ENV,
        **UNTHROTTLED_ENV,
    }
    if sink is not None:
        env.update(STACK_EMAIL_HOST="127.0.0.1", STACK_EMAIL_PORT=str(sink.smtp_port))
    env.update(extra)
    return env


def start_worker(database_url: str, sink: MailSink | None, **extra: str) -> WorkerProcess:
    """``python -m authstack_worker``; returns once it has said it consumes."""
    log_path = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "authstack_worker"],
            env=worker_env(database_url, sink, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path)

    def started() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{worker.log()}")
        return "worker started" in worker.log()

    wait_until(started, 30, what="the worker to start")
    return worker


def outbox_rows(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id::text, status, attempt_count, error, recipient FROM email_outbox"
            " ORDER BY created_at"
        )
        cols = [d.name for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def unacked_wakeups(redis_url: str, namespace: str) -> set[str]:
    """Ids of the wake-ups in ``namespace`` that no worker has acknowledged yet.

    dramatiq keeps a message in ``<namespace>:<queue>.msgs`` from enqueue until a worker acks it,
    which it does once the actor has returned: an empty set means every wake-up enqueued so far
    has been handled to the end. Dead letters (``.XQ.msgs``) are not in flight and not counted.
    """
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return {
            message_id
            for key in client.scan_iter(match=f"{namespace}:*.msgs")
            if not key.endswith(".XQ.msgs")
            for message_id in client.hkeys(key)
        }
    finally:
        client.close()


def held_by_workers(redis_url: str, namespace: str) -> set[str]:
    """Ids of the wake-ups some worker has taken and not acknowledged (its ``__acks__`` sets)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return {
            message_id
            for key in client.scan_iter(match=f"{namespace}:__acks__.*")
            for message_id in client.smembers(key)
        }
    finally:
        client.close()


def queue_step(http: httpx.Client) -> httpx.Response:
    return http.get(
        "/api/latest/internal/email-queue-step",
        headers={"authorization": f"Bearer {CRON_SECRET}"},
    )


def custom_server_config(sink: MailSink, **extra: Any) -> dict[str, Any]:
    """Project config (``emails.server``) sending through ``sink`` instead of the shared server."""
    return {
        "emails.server": {
            "isShared": False,
            "provider": "smtp",
            "host": "127.0.0.1",
            "port": sink.smtp_port,
            "senderEmail": "hello@project.test",
            "senderName": "Project Mail",
            **extra,
        }
    }


def send_email(
    http: httpx.Client, project: Project, user_ids: list[str], **body: Any
) -> httpx.Response:
    """``POST /emails/send-email`` to ``user_ids`` with the server key; the answer unchecked."""
    return http.post(
        "/api/v1/emails/send-email",
        headers=project.headers("server"),
        json={"user_ids": user_ids, **body},
    )


def outbox_item(http: httpx.Client, project: Project, outbox_id: str) -> dict[str, Any]:
    r = http.get(f"/api/v1/emails/outbox/{outbox_id}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    item: dict[str, Any] = r.json()
    return item


# The fields of every outbox entry, whatever its status (upstream's emailOutboxBaseSchema, less
# the content this outbox withholds).
OUTBOX_BASE_KEYS = frozenset(
    {
        "id", "created_at_millis", "updated_at_millis", "theme_id", "to",
        "skip_deliverability_check", "scheduled_at_millis", "created_with", "email_draft_id",
        "email_programmatic_call_template_id", "send_retries", "next_send_retry_at_millis",
        "send_attempt_errors", "status", "simple_status", "is_paused", "has_rendered",
        "has_delivered",
    }
)  # fmt: skip
