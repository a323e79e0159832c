"""A local SMTP server that keeps every message and shows it on a web page.

``make dev`` runs it when ``STACK_EMAIL_HOST`` names no real server; the tests and the email
benchmark run it too. Open the page to read what the worker sent (links are clickable), or
``curl http://127.0.0.1:<http-port>/api/messages`` for JSON (``/api/v1/mailbox/<local part>``:
Inbucket's listing, for the email monitor). Messages live in memory and, with
``--dir``, as ``.eml`` files.

For the tests it can also misbehave on request (``PUT /api/behaviour``): refuse recipients or
data with a given reply, or hold every DATA reply until ``POST /api/release`` (a slow server),
and it can speak implicit TLS or STARTTLS and require a login.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import html
import json
import re
import signal
import ssl
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

# Inbucket's mailbox API, which the email monitor (GET /health/email) polls.
MAILBOX_PREFIX = "/api/v1/mailbox/"


@dataclass
class Stored:
    id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    received_at: float
    peer: str
    tls: bool
    authenticated_as: str | None

    def parsed(self) -> dict[str, Any]:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
        return {
            "id": self.id,
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "text": text_part.get_content().replace("\r\n", "\n") if text_part else "",
            "html": html_part.get_content().replace("\r\n", "\n") if html_part else "",
            "received_at": self.received_at,
            "tls": self.tls,
            "authenticated_as": self.authenticated_as,
        }


@dataclass
class Behaviour:
    rcpt_reply: str | None = None  # e.g. "451 4.3.0 Try again later" or "550 5.1.1 No such user"
    data_reply: str | None = None
    hold: bool = False  # hold every DATA reply until released (a slow server)
    hold_after: int | None = None  # accept this many messages, then hold the rest

    def json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Mailbox:
    directory: Path | None = None
    messages: list[Stored] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    held: int = 0  # DATA commands waiting for a release
    refused: int = 0
    sessions: int = 0  # SMTP connections that greeted (EHLO)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release_event: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def store(self, item: Stored) -> None:
        with self.lock:
            self.messages.append(item)
        if self.directory is not None:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{item.id[:8]}.eml"
            (self.directory / name).write_bytes(item.raw)

    def release(self) -> None:
        with self.lock:
            self.behaviour.hold = False
            self.behaviour.hold_after = None
        if self.loop is not None and self.release_event is not None:
            self.loop.call_soon_threadsafe(self.release_event.set)


class Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if not getattr(session, "counted", False):  # EHLO comes again after STARTTLS
            session.counted = True  # type: ignore[attr-defined]
            with self.box.lock:
                self.box.sessions += 1
        return responses

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.box.behaviour.rcpt_reply
        if reply:
            with self.box.lock:
                self.box.refused += 1
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        box = self.box
        behaviour = box.behaviour
        with box.lock:
            hold = behaviour.hold or (
                behaviour.hold_after is not None and len(box.messages) >= behaviour.hold_after
            )
        if hold:
            if box.release_event is None or box.release_event.is_set():
                box.loop = asyncio.get_running_loop()
                box.release_event = asyncio.Event()
            with box.lock:
                box.held += 1
            try:
                # If the client goes away meanwhile, aiosmtpd cancels this handler: the message
                # is dropped, as a server drops one whose sender vanished before the reply.
                await box.release_event.wait()
            finally:
                with box.lock:
                    box.held -= 1
        reply = box.behaviour.data_reply
        if reply:
            with box.lock:
                box.refused += 1
            return reply
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        login = session.auth_data
        box.store(
            Stored(
                id=uuid.uuid4().hex,
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
                received_at=time.time(),
                peer=str(session.peer),
                tls=session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                authenticated_as=login.login.decode() if isinstance(login, LoginPassword) else None,
            )
        )
        return f"250 2.0.0 Ok: queued as {uuid.uuid4().hex[:12]}"


class Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user = user.encode()
        self.password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


_URL = re.compile(r"https?://[^\s<>\"']+")


def _linkify(text: str) -> str:
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def render_page(messages: list[dict[str, Any]]) -> bytes:
    items = []
    for m in reversed(messages):
        when = time.strftime("%H:%M:%S", time.localtime(m["received_at"]))
        items.append(
            "<article>"
            f"<h2>{html.escape(m['subject'] or '(no subject)')}</h2>"
            f"<p class=meta>{when} · to {html.escape(', '.join(m['rcpt_tos']))}"
            f" · from {html.escape(m['from'])}</p>"
            f"<pre>{_linkify(m['text'])}</pre>"
            "</article>"
        )
    body = "".join(items) or "<p>No mail yet. Messages the worker sends appear here.</p>"
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<meta http-equiv=refresh content=5><title>authstack mail sink</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;"
        "padding:0 1rem;color:#18181b}article{border:1px solid #e4e4e7;border-radius:8px;"
        "padding:1rem;margin:1rem 0}h2{font-size:1.1rem;margin:0}.meta{color:#71717a;"
        "font-size:.85rem}pre{white-space:pre-wrap;word-break:break-word}</style></head><body>"
        f"<h1>Mail sink</h1><p class=meta>{len(messages)} message(s); newest first; "
        "JSON at <a href=/api/messages>/api/messages</a>.</p>"
        f"{body}</body></html>"
    )
    return page.encode("utf-8")


_RAW_PATH = re.compile(r"^/api/messages/([0-9a-f]{32})/raw$")


def _raw_id(path: str) -> str | None:
    """The message id of ``/api/messages/<id>/raw`` (the message exactly as received)."""
    match = _RAW_PATH.match(path)
    return match.group(1) if match else None


def make_http_handler(box: Mailbox) -> type[BaseHTTPRequestHandler]:
    class Web(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the page refreshes every few seconds

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _messages(self, to: str | None) -> list[dict[str, Any]]:
            with box.lock:
                stored = list(box.messages)
            out = [s.parsed() for s in stored]
            if to:
                out = [m for m in out if to.lower() in (r.lower() for r in m["rcpt_tos"])]
            return out

        def _mailbox(self, name: str) -> list[dict[str, Any]]:
            """Inbucket's mailbox listing (``GET /api/v1/mailbox/{name}``): the messages to
            ``name@...`` (any domain), as the email monitor of /health/email reads them."""
            name = name.lower()
            return [
                {
                    "id": m["id"],
                    "mailbox": name,
                    "subject": m["subject"],
                    "from": m["from"],
                    "to": m["rcpt_tos"],
                    "date": datetime.fromtimestamp(m["received_at"], UTC).isoformat(),
                }
                for m in self._messages(None)
                if any(r.lower().rpartition("@")[0] == name for r in m["rcpt_tos"])
            ]

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/":
                self._send(200, render_page(self._messages(None)), "text/html; charset=utf-8")
            elif url.path == "/api/messages":
                self._json({"messages": self._messages((query.get("to") or [None])[0])})
            elif url.path.startswith(MAILBOX_PREFIX):
                self._json(self._mailbox(unquote(url.path.removeprefix(MAILBOX_PREFIX))))
            elif (raw_id := _raw_id(url.path)) is not None:
                with box.lock:
                    found = next((m.raw for m in box.messages if m.id == raw_id), None)
                if found is None:
                    self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
                else:
                    self._send(200, found, "message/rfc822")
            elif url.path == "/api/state":
                with box.lock:
                    state = {
                        "received": len(box.messages),
                        "held": box.held,
                        "refused": box.refused,
                        "sessions": box.sessions,
                        "behaviour": box.behaviour.json(),
                    }
                self._json(state)
            else:
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

        def do_DELETE(self) -> None:
            if urlsplit(self.path).path == "/api/messages":
                with box.lock:
                    box.messages.clear()
                    box.refused = 0
                    box.sessions = 0
                self._json({"ok": True})
            else:
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

        def do_PUT(self) -> None:
            if urlsplit(self.path).path != "/api/behaviour":
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
                return
            length = int(self.headers.get("content-length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            hold = bool(data.get("hold", False))
            hold_after = data.get("hold_after")
            with box.lock:
                box.behaviour = Behaviour(
                    data.get("rcpt_reply"), data.get("data_reply"), hold, hold_after
                )
            if not hold and hold_after is None:
                box.release()
            self._json(box.behaviour.json())

        def do_POST(self) -> None:
            if urlsplit(self.path).path == "/api/release":
                box.release()
                self._json({"ok": True})
            else:
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    return Web


def _tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8125)
    parser.add_argument("--dir", type=Path, help="also save each message as a .eml file here")
    parser.add_argument("--tls-cert", help="certificate (PEM) for STARTTLS or implicit TLS")
    parser.add_argument("--tls-key", help="its private key (PEM)")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--auth", help="require AUTH with USER:PASSWORD")
    args = parser.parse_args(argv)

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    box = Mailbox(directory=args.dir)
    tls = _tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    options: dict[str, Any] = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update(authenticator=Authenticator(user, password), auth_required=True)
        options["auth_require_tls"] = tls is not None
    if tls is not None and not args.implicit_tls:
        options.update(tls_context=tls, require_starttls=args.require_starttls)
    controller = Controller(
        Handler(box),
        hostname=args.host,
        port=args.smtp_port,
        ssl_context=tls if args.implicit_tls else None,
        server_hostname="localhost",
        ready_timeout=10,
        **options,
    )
    web = ThreadingHTTPServer((args.host, args.http_port), make_http_handler(box))
    web.daemon_threads = True
    controller.start()

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=web.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"mail sink: SMTP on {args.host}:{args.smtp_port}, "
        f"inbox at http://{args.host}:{args.http_port}/",
        flush=True,
    )
    try:
        web.serve_forever(poll_interval=0.2)
    finally:
        box.release()
        with contextlib.suppress(Exception):
            controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
