"""The email fixtures: TLS files, the machine's Redis or a private one, the shared sink and worker.

Registered once for every test package (``pytest_plugins`` in tests/conftest.py): a session
fixture imported into two modules would start two workers on the same queue.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
import redis

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from tests.conftest import QUEUE_NAMESPACE, TEST_REDIS_URL, Project, settings_env
from tests.factories import free_port, fresh_database
from tests.mail import (
    PRIVATE_TARGETS_ENV,
    MailSink,
    WorkerProcess,
    custom_server_config,
    start_sink,
    start_worker,
    wait_until,
)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


StoppableT = TypeVar("StoppableT", bound=_Stoppable)


def stopped_after(server: StoppableT) -> Iterator[StoppableT]:
    """A fixture's body for a started ``server``: yield it, then stop it however the test ended
    (``yield from stopped_after(...)``)."""
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def seeded_database(prefix: str) -> Iterator[str]:
    """A fresh database (name starting ``prefix``), migrated and seeded; dropped on exit."""
    with fresh_database(prefix) as url:
        migrate(url)
        seed(Settings(**settings_env(url)))  # type: ignore[arg-type]
        yield url


# --- TLS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def sink_args(self, *more: str) -> tuple[str, ...]:
        """The mail sink's arguments to serve this certificate (then ``more``)."""
        return ("--tls-cert", str(self.cert), "--tls-key", str(self.key), *more)


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
    with seeded_database("authstack_drill") as url:
        yield url


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
    yield from stopped_after(start_sink())


@pytest.fixture(scope="session")
def mail_worker(
    migrated_database: str, mail_sink: MailSink, session_redis: str, tls_files: TlsFiles
) -> Iterator[WorkerProcess]:
    yield from stopped_after(
        start_worker(
            migrated_database, mail_sink, SSL_CERT_FILE=str(tls_files.cert), **PRIVATE_TARGETS_ENV
        )
    )


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


@pytest.fixture
def own_server(
    make_sink: Callable[..., MailSink], make_project: Callable[..., Project]
) -> tuple[MailSink, Project]:
    """(sink, project): a new mail sink, and a new project sending through it as its own server."""
    sink = make_sink()
    return sink, make_project(custom_server_config(sink))
