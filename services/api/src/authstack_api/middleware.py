"""The edge of the API: header spellings, versions, CORS, request ids, status override, log line.

Pure ASGI so it costs little on every request. It runs outside Litestar, so it also covers
responses Litestar produces itself (404s, oversized bodies) and our error handlers' responses.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from litestar.types import Receive, ReceiveMessage, Send

from authstack_api.prometheus import observe
from authstack_api.responses import error_json_body
from authstack_core.analytics.events import Origin, request_origin
from authstack_core.errors import BodyParsingError
from authstack_core.settings import IPNetwork

log = structlog.get_logger("authstack_api.request")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

ALLOWED_HEADERS = (
    "content-type, authorization, x-stack-project-id, x-stack-branch-id, "
    "x-stack-override-error-status, x-stack-random-nonce, x-stack-client-version, "
    "x-stack-disable-artificial-development-delay, x-stack-access-type, "
    "x-stack-publishable-client-key, x-stack-secret-server-key, x-stack-super-secret-admin-key, "
    "x-stack-admin-access-token, x-stack-refresh-token, x-stack-access-token, "
    "x-stack-allow-anonymous-user, x-stack-allow-restricted-user, baggage, sentry-trace, "
    "x-vercel-protection-bypass, ngrok-skip-browser-warning"
)
# The current SDK spells every header x-hexclave-*; browsers preflight those names too.
_ALLOWED = (
    ALLOWED_HEADERS
    + ", "
    + ", ".join(
        h.strip().replace("x-stack-", "x-hexclave-")
        for h in ALLOWED_HEADERS.split(",")
        if h.strip().startswith("x-stack-")
    )
)
CORS_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    (b"access-control-allow-headers", _ALLOWED.encode()),
    (
        b"access-control-expose-headers",
        # retry-after: the SDK waits that long before retrying a 429 (browsers hide it otherwise)
        b"content-type, x-stack-actual-status, x-stack-known-error, retry-after",
    ),
    (b"access-control-max-age", b"86400"),
    (b"vary", _ALLOWED.encode()),
]
ACCEPTED_BODY_TYPES = frozenset(
    {
        b"",
        b"application/json",
        b"application/x-www-form-urlencoded",
        b"text/plain",
        b"application/octet-stream",
    }
)
# RFC 8058 lets a mail client send its one-click unsubscribe POST as multipart/form-data; that
# route reads no body, so it takes that type too.
MULTIPART_PATHS = frozenset({"/api/v1/emails/unsubscribe-link"})
_HEXCLAVE = b"x-hexclave-"
_STACK = b"x-stack-"
# The client's country as a CDN in front of us reports it (Cloudflare, Vercel), in this order of
# preference. Anyone can write these headers, so they reach the app only from a trusted proxy.
COUNTRY_HEADERS = (b"cf-ipcountry", b"x-vercel-ip-country")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


# An answer sent before the request body was read (413 for an oversized body, a refused content
# type) is preceded by reading and discarding the rest of the body, up to these bounds. Otherwise
# the server closes a connection (Connection: close, HTTP/1.0) with unread bytes in its buffer,
# the kernel answers with a reset, and a client still sending sees that reset, not our answer.
DRAIN_LIMIT_FACTOR = 4  # times the body limit
DRAIN_SECONDS = 10.0


# Parsed once per distinct text: the same peers and forwarded addresses come back request after
# request, and parsing one costs several microseconds. Bounded, as the texts come from clients.
@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def proxy_country(headers: Mapping[str, str]) -> str | None:
    """The client's country (a 2-letter code, upper case) as a trusted proxy reported it, or None.

    EdgeMiddleware drops the country headers of requests that did not come through one. "XX",
    Cloudflare's "unknown", is no country.
    """
    for name in COUNTRY_HEADERS:
        value = headers.get(name.decode(), "").strip().upper()
        if _COUNTRY_CODE.fullmatch(value) and value != "XX":
            return value
    return None


def client_address(
    peer: str | None, forwarded_for: Sequence[bytes], trusted: Sequence[IPNetwork]
) -> str | None:
    """The client's address: the TCP peer, unless the peer is a trusted proxy.

    Behind trusted proxies it is the right-most X-Forwarded-For hop that is not itself a trusted
    proxy: hops further left were written by the client and prove nothing. A malformed hop
    stops the walk at the last trusted one, so garbage cannot pick an address either.
    """
    if peer is None or not trusted:
        return peer
    current = _address(peer)
    if current is None or not any(current in net for net in trusted):
        return peer
    hops = [h for value in forwarded_for for h in value.decode("latin-1").split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not any(address in net for net in trusted):
            break
    return str(current)


class EdgeMiddleware:
    def __init__(
        self,
        app: Any,
        *,
        drain_limit_bytes: int = 4 * 1_048_576,
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self.app = app
        self.drain_limit_bytes = drain_limit_bytes
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        request_id_var.set(request_id)
        # Bound into structlog's context too, so every line logged while this request runs (domain
        # code, stdlib records) carries it; reset below so nothing leaks past the request.
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        override = False
        content_type = b""
        has_body = False
        content_length: int | None = None
        forwarded_for: list[bytes] = []
        forwarded_proto = b""
        headers: list[tuple[bytes, bytes]] = []
        proxy_only: list[tuple[bytes, bytes]] = []
        for raw_name, value in scope["headers"]:
            name = (
                _STACK + raw_name[len(_HEXCLAVE) :] if raw_name.startswith(_HEXCLAVE) else raw_name
            )
            if name == b"x-stack-override-error-status":
                override = value.strip().lower() not in (b"", b"false", b"0")
            elif name == b"content-type":
                content_type = value.split(b";", 1)[0].strip().lower()
            elif name == b"content-length":
                has_body = value.strip() not in (b"", b"0")
                content_length = int(value) if value.strip().isdigit() else None
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                forwarded_proto = value
            elif name in COUNTRY_HEADERS:
                proxy_only.append((name, value))
                continue
            headers.append((name, value))
        path: str = scope["path"]
        if path.startswith("/api/latest/") or path == "/api/latest":
            path = "/api/v1" + path[len("/api/latest") :]
        scope = {**scope, "headers": headers, "path": path, "raw_path": path.encode()}
        country = None
        if self.trusted_proxies and self._apply_proxy(scope, forwarded_for, forwarded_proto):
            headers.extend(proxy_only)
            country = proxy_country({k.decode(): v.decode("latin-1") for k, v in proxy_only})
        client = scope.get("client")
        # For events written while this request runs ($token-refresh's ip_info).
        request_origin.set(Origin(client[0] if client else None, country))
        status_seen = 0
        body_done = not has_body

        async def receive_wrapper() -> ReceiveMessage:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def drain() -> None:
            nonlocal body_done
            if content_length is not None and content_length > self.drain_limit_bytes:
                return  # not worth reading; such a client may see the connection cut
            read = 0
            try:
                async with asyncio.timeout(DRAIN_SECONDS):
                    while not body_done and read <= self.drain_limit_bytes:
                        message = await receive_wrapper()
                        body: bytes = message.get("body", b"")  # type: ignore[assignment]
                        read += len(body)
            except TimeoutError:
                pass

        async def send_wrapper(message: Any) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                if not body_done:
                    await drain()
                status = message["status"]
                status_seen = status
                out: list[tuple[bytes, bytes]] = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"server"
                ]
                if override and 400 <= status < 500:
                    out.append((b"x-stack-actual-status", str(status).encode()))
                    status = 200
                if not any(k.lower() == b"cache-control" for k, _ in out):
                    out.append((b"cache-control", b"no-store, max-age=0"))
                out.append((b"x-stack-request-id", request_id.encode()))
                out.extend(CORS_HEADERS)
                message = {**message, "status": status, "headers": out}
            await send(message)

        try:
            if scope["method"] == "OPTIONS":
                await _respond(send_wrapper, 200, b"", b"text/plain; charset=utf-8")
            elif (
                has_body
                and content_type not in ACCEPTED_BODY_TYPES
                and not (content_type == b"multipart/form-data" and path in MULTIPART_PATHS)
            ):
                error = BodyParsingError(
                    "Unsupported content type; send application/json or form-urlencoded data."
                )
                await _respond(
                    send_wrapper,
                    error.status,
                    error_json_body(error.body()),
                    b"application/json; charset=utf-8",
                    known=error.code,
                )
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            observe(scope, status_seen, started)
            log.info(
                "request",
                method=scope["method"],
                path=path,
                status=status_seen,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.reset_contextvars(**bound)

    def _apply_proxy(
        self, scope: dict[str, Any], forwarded_for: list[bytes], forwarded_proto: bytes
    ) -> bool:
        """Behind a trusted proxy: the client address and scheme it reports (uvicorn's own
        proxy handling is off, so this is the only place they are believed). Whether the request
        came through one."""
        peer: tuple[str, int] | None = scope.get("client")
        if peer is None:
            return False
        address = _address(peer[0])
        if address is None or not any(address in net for net in self.trusted_proxies):
            return False
        scope["client"] = (client_address(peer[0], forwarded_for, self.trusted_proxies), peer[1])
        proto = forwarded_proto.split(b",")[-1].strip().lower()
        if proto in (b"http", b"https"):
            scope["scheme"] = proto.decode()
        return True


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, known: str | None = None
) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    if known:
        headers.append((b"x-stack-known-error", known.encode()))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
