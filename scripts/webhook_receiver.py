"""A webhook receiver on loopback that verifies each request as a Svix receiver would.

    uv run python scripts/webhook_receiver.py [--port 8126] [--secret whsec_...]

Prints one line per request: whether its signature verified (``svix.Webhook(secret).verify``),
the message id, the event type and its data. Add an endpoint in the dashboard (project ->
Webhooks) with the URL it prints, then pass the secret shown there with --secret.

The tests and the benchmark use the ``Receiver`` class in-process: it records every request and
can answer with scripted statuses, per path, one secret per path.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from svix.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    verified: bool | None  # None: no secret known for the path
    error: str | None  # why verification failed
    status: int  # what the receiver answered
    received_at: float  # time.time()

    @property
    def message_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender that went away mid-answer (a worker killed, a timeout) is no news here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """A threaded HTTP/1.1 server (keep-alive) recording and verifying every POST."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._scripts: dict[str, deque[int]] = {}
        self._received: list[Received] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.on_receive: Any = None  # optional callable(Received), e.g. to print
        self.delay = 0.0  # seconds each answer waits (a slow endpoint)

    # --- set-up ---------------------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer's head and body are two writes: without this, a kept-alive connection
            # waits for the sender's delayed ACK (40 ms) on every request.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = receiver._handle(self.path, dict(self.headers.items()), body)
                answer = b"ok" if 200 <= status < 300 else b"no"
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (the port refuses connections until ``start`` again)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def secret(self, path: str, secret: str) -> None:
        """Verify requests to ``path`` with ``secret`` from now on."""
        with self._lock:
            self._secrets[path] = secret

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next requests to ``path`` with these statuses (then 200 again)."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(statuses)

    # --- what arrived ---------------------------------------------------------------------------

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            secret = self._secrets.get(path)
            script = self._scripts.get(path)
            status = script.popleft() if script else 200
        verified: bool | None = None
        error = None
        if secret is not None:
            try:
                Webhook(secret).verify(body, lowered)
                verified = True
            except WebhookVerificationError as exc:
                verified, error = False, str(exc)
        record = Received(path, lowered, body, verified, error, status, time.time())
        with self._lock:
            self._received.append(record)
        if self.on_receive is not None:
            self.on_receive(record)
        if self.delay:
            time.sleep(self.delay)
        return status


def _print(record: Received) -> None:
    mark = {True: "verified", False: f"NOT VERIFIED ({record.error})", None: "unverified"}
    try:
        payload = record.json()
        what = f"{payload.get('type')} {json.dumps(payload.get('data'))[:300]}"
    except ValueError:
        what = record.body[:300].decode("utf-8", "replace")
    stamp = time.strftime("%H:%M:%S", time.localtime(record.received_at))
    print(f"{stamp} {record.path} {record.message_id} [{mark[record.verified]}] {what}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8126)
    parser.add_argument("--secret", help="the endpoint's whsec_ secret (to verify signatures)")
    parser.add_argument("--path", default="/hook")
    args = parser.parse_args()
    receiver = Receiver(args.port)
    if args.secret:
        receiver.secret(args.path, args.secret)
    receiver.on_receive = _print
    receiver.start()
    print(f"webhook receiver listening: {receiver.url(args.path)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
