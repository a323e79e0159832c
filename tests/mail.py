"""Email test support: a real SMTP sink process, worker processes, a private Redis, helpers.

Everything here is a real server on loopback: ``scripts/mail_sink.py`` (aiosmtpd) receives the
mail, ``python -m authstack_worker`` delivers it, and Redis is the machine's (a namespace per test
session) or, for the fault drills, a ``redis-server`` of our own that the test may stop. A server
that cannot be reached makes the tests fail, never skip.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg import sql

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from tests.conftest import (
    ADMIN_URL,
    CRON_SECRET,
    QUEUE_NAMESPACE,
    TEST_REDIS_URL,
    ApiServer,
    Project,
    free_port,
    settings_env,
)

ROOT = Path(__file__).resolve().parent.parent
SINK_SCRIPT = ROOT / "scripts" / "mail_sink.py"
SENDER = "noreply@authstack.test"
CODE_IN_LINK = re.compile(r"[?&]code=([0-9a-z]{45})\b")
OTP_IN_TEXT = re.compile(r"one-time code is:\s*([0-9A-Z]{6})\b")
# The worker in tests retries fast, so a drill of "retries then failed" takes a second.
FAST_RETRY_ENV = {"STACK_EMAIL_RETRY_BASE_SECONDS": "0.2", "STACK_EMAIL_MAX_ATTEMPTS": "3"}
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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


# --- TLS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def make_certificate(directory: Path, name: str = "localhost") -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost (its own trust anchor)."""
    import datetime as dt  # noqa: PLC0415 (only the TLS tests need these)
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(directory / f"{name}-cert.pem", directory / f"{name}-key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@pytest.fixture(scope="session")
def tls_files() -> Iterator[TlsFiles]:
    """The certificate the session's worker trusts (its SSL_CERT_FILE)."""
    directory = Path(tempfile.mkdtemp(prefix="tls-"))
    try:
        yield make_certificate(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(database_url: str, sink: MailSink | None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        **settings_env(database_url),
        "STACK_EMAIL_SENDER": SENDER,
        "STACK_WORKER_THREADS": "4",
        "STACK_LOG_LEVEL": "info",
        **FAST_RETRY_ENV,
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


# --- Redis --------------------------------------------------------------------------------------


def check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"tests need Redis at {url} (set AUTHSTACK_TEST_REDIS): {exc}; "
            "start it with: redis-server --daemonize yes --bind 127.0.0.1 --save '' "
            "--appendonly no"
        )


def delete_namespace(url: str, namespace: str) -> None:
    """Remove this session's queue keys from the shared Redis (never a FLUSH)."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)


@dataclass
class PrivateRedis:
    """A redis-server of our own on a free loopback port, which a test may stop and restart."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (Debian package redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
            except redis.RedisError:
                return False

        wait_until(answers, 10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop it the hard way: whatever it held (queued wake-ups) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port(), Path(tempfile.mkdtemp(prefix="redis-")))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


# --- databases ------------------------------------------------------------------------------------


@pytest.fixture
def drill_database() -> Iterator[str]:
    """A database of the test's own, migrated and seeded: no other test's rows to recover."""
    name = f"authstack_drill_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rpartition("/")[0] + f"/{name}"
    try:
        migrate(url)
        seed(Settings(**settings_env(url)))  # type: ignore[arg-type]
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def outbox_rows(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id::text, status, attempt_count, error, recipient FROM email_outbox"
            " ORDER BY created_at"
        )
        cols = [d.name for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


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


def outbox_item(http: httpx.Client, project: Project, outbox_id: str) -> dict[str, Any]:
    r = http.get(f"/api/v1/emails/outbox/{outbox_id}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    item: dict[str, Any] = r.json()
    return item


# --- session fixtures: the shared sink and worker (the machine's Redis, our namespace) ------------


@pytest.fixture(scope="session")
def session_redis() -> Iterator[str]:
    check_redis(TEST_REDIS_URL)
    try:
        yield TEST_REDIS_URL
    finally:
        delete_namespace(TEST_REDIS_URL, QUEUE_NAMESPACE)


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    """The sink behind the shared server (``STACK_EMAIL_*``) of the session's worker."""
    sink = start_sink()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def mail_worker(
    migrated_database: str, mail_sink: MailSink, session_redis: str, tls_files: TlsFiles
) -> Iterator[WorkerProcess]:
    worker = start_worker(
        migrated_database, mail_sink, SSL_CERT_FILE=str(tls_files.cert), **PRIVATE_TARGETS_ENV
    )
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def make_sink() -> Iterator[Callable[..., MailSink]]:
    sinks: list[MailSink] = []

    def make(*args: str) -> MailSink:
        sink = start_sink(*args)
        sinks.append(sink)
        return sink

    try:
        yield make
    finally:
        for sink in sinks:
            sink.stop()


__all__ = [
    "ApiServer",
    "Project",
    "drill_database",
    "mail_sink",
    "mail_worker",
    "make_sink",
    "private_redis",
    "session_redis",
    "tls_files",
]
