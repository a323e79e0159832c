"""Sending one webhook message: signed HTTP POSTs to an endpoint (built in), or to Svix.

Built in, a request is signed as Svix signs its own (Standard Webhooks, through the ``svix``
package), so a receiver written for Svix verifies it unchanged. The endpoint's host is resolved
once per sender and every address checked (``outbound.resolve_public``), and the request goes to
the checked address, never to the name again (DNS rebinding); TLS still verifies the name (SNI).
Bounded: 5 s to connect, 15 s in all, at most 64 KiB of the answer read, redirects not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from authstack_core.models.webhooks import Outcome
from authstack_core.outbound import OutboundAddressError, check_host, resolve_public

if TYPE_CHECKING:  # the svix package (~7 MB of a process) is imported where it is used
    from svix.api import SvixAsync

log = structlog.get_logger(__name__)

CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 15.0
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "authstack-webhooks/1"


class UrlRefusedError(Exception):
    """The URL may not be delivered to (scheme, form, or an internal address)."""


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON of ``{type, data}``."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL that may be used; UrlRefusedError otherwise.

    https:// always, http:// only with ``allow_http``; no credentials in the URL; the host must
    not be an internal address or a localhost name unless ``allow_private`` (names are resolved
    and checked when sending).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefusedError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        allowed = "https:// or http://" if allow_http else "https://"
        raise UrlRefusedError(f"the URL must start with {allowed}")
    if not parts.hostname:
        raise UrlRefusedError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefusedError("the URL may not carry a user name or password")
    try:
        check_host(parts.hostname, allow_private=allow_private)
    except OutboundAddressError as exc:
        raise UrlRefusedError(str(exc)) from None
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def signed_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers under both names receivers look for (webhook-*, svix-*)."""
    from svix.webhooks import Webhook  # noqa: PLC0415

    now = datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, now, body.decode("utf-8"))
    timestamp = str(int(now.timestamp()))
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
        "svix-id": message_id,
        "svix-timestamp": timestamp,
        "svix-signature": signature,
    }


class HttpSender:
    """POSTs signed messages to one endpoint over at most one kept-alive connection.

    Resolves the host on first use (and again after a connection failure) and talks to the
    checked address from then on. Close it with ``aclose``.
    """

    def __init__(self, url: str, secret: str, *, allow_http: bool, allow_private: bool) -> None:
        self.url = url
        self.secret = secret
        self.allow_http = allow_http
        self.allow_private = allow_private
        self._address: str | None = None
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(TOTAL_SECONDS, connect=CONNECT_SECONDS),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=False,
            trust_env=False,  # never through a proxy from the environment
            verify=ssl.create_default_context(),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _target(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The URL with the checked address in place of the name, the Host header, and SNI."""
        scheme, host, port = check_url(
            self.url, allow_http=self.allow_http, allow_private=self.allow_private
        )
        if self._address is None:
            try:
                addresses = await resolve_public(host, port, allow_private=self.allow_private)
            except OutboundAddressError as exc:
                raise UrlRefusedError(str(exc)) from None
            self._address = str(addresses[0].sockaddr[0])
        address = self._address
        if isinstance(ipaddress.ip_address(address.split("%", 1)[0]), ipaddress.IPv6Address):
            address = f"[{address}]"
        parts = urlsplit(self.url)
        netloc = f"{address}:{port}"
        target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = parts.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        return target, {"host": host_header}, extensions

    async def send(self, message_id: str, body: bytes) -> Outcome:
        """One attempt. Never raises for the endpoint's or the network's trouble."""
        try:
            target, host, extensions = await self._target()
        except UrlRefusedError as exc:
            return Outcome(ok=False, error=f"refused: {exc}", retry=False)
        except OSError as exc:  # socket.gaierror: the name does not resolve
            return Outcome(ok=False, error=f"could not resolve the host: {exc}", stop_lane=True)
        headers = {**signed_headers(self.secret, message_id, body), **host}
        try:
            async with asyncio.timeout(TOTAL_SECONDS):
                request = self._client.build_request(
                    "POST", target, content=body, headers=headers, extensions=extensions
                )
                response = await self._client.send(request, stream=True)
                try:
                    answer = await _read_bounded(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            self._address = None
            return Outcome(
                ok=False, error=f"no answer within {TOTAL_SECONDS:.0f} s", stop_lane=True
            )
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            self._address = None
            return Outcome(ok=False, error=_describe(exc), stop_lane=True)
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(ok=True, status_code=code)
        text = answer.decode("utf-8", "replace").strip()
        return Outcome(ok=False, status_code=code, error=f"HTTP {code}: {text[:200]}".rstrip(": "))


async def _read_bounded(response: httpx.Response) -> bytes:
    """At most MAX_ANSWER_BYTES of the answer; the rest is not read (the connection then closes)."""
    out = bytearray()
    async for chunk in response.aiter_raw():
        out += chunk
        if len(out) >= MAX_ANSWER_BYTES:
            del out[MAX_ANSWER_BYTES:]
            break
    return bytes(out)


def _describe(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None and cause.__cause__ is not cause:
        cause = cause.__cause__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {cause.verify_message}"
    if isinstance(cause, socket.gaierror):
        return f"could not resolve the host: {cause}"
    return f"could not connect: {type(cause).__name__}: {cause}".rstrip(": ")


# --- Svix -----------------------------------------------------------------------------------------

# 429s are retried in place (as upstream does), this long after each; then the attempt fails
# and the delivery's own schedule takes over.
RATE_LIMIT_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)


def svix_client(api_key: str, server_url: str | None) -> SvixAsync:
    """A Svix client: Svix's cloud (the region the key names) or the server at ``server_url``."""
    from svix.api import SvixAsync, SvixOptions  # noqa: PLC0415

    return SvixAsync(api_key, SvixOptions(server_url=server_url, timeout=TOTAL_SECONDS))


class SvixSender:
    """Creates messages in each project's Svix application (uid = the project id)."""

    def __init__(self, client: SvixAsync) -> None:
        self.client = client
        self._apps: set[str] = set()

    async def ensure_app(self, project_id: str) -> None:
        if project_id in self._apps:
            return
        from svix.api import ApplicationIn  # noqa: PLC0415
        from svix.exceptions import HttpError  # noqa: PLC0415

        try:
            await self.client.application.get_or_create(
                ApplicationIn(name=project_id, uid=project_id)
            )
        except HttpError as exc:
            if exc.status_code != 409:  # 409: it exists already (a known Svix quirk)
                raise
        self._apps.add(project_id)

    async def send(self, project_id: str, event_id: str, payload: dict[str, Any]) -> Outcome:
        """Create the message, with the event id as Svix's idempotency key."""
        from svix.api import MessageCreateOptions, MessageIn  # noqa: PLC0415
        from svix.exceptions import HttpError, HTTPValidationError  # noqa: PLC0415

        message = MessageIn(event_type=str(payload["type"]), payload=payload)
        for wait in (*RATE_LIMIT_WAITS, None):
            try:
                await self.ensure_app(project_id)
                await self.client.message.create(
                    project_id, message, MessageCreateOptions(idempotency_key=event_id)
                )
            except (HttpError, HTTPValidationError) as exc:
                code = int(getattr(exc, "status_code", 0) or 0)
                if code == 429 and wait is not None:
                    await asyncio.sleep(wait)
                    continue
                # 429 (still) and 5xx: try later; other 4xx: Svix refuses this message for good.
                temporary = code == 429 or code >= 500
                return Outcome(
                    ok=False,
                    status_code=code or None,
                    error=f"Svix answered {code}: {getattr(exc, 'detail', exc)}",
                    retry=temporary,
                    stop_lane=temporary,
                )
            except (httpx.HTTPError, OSError) as exc:
                return Outcome(
                    ok=False, error=f"Svix unreachable: {_describe(exc)}", stop_lane=True
                )
            return Outcome(ok=True, status_code=202)
        raise AssertionError("unreachable: the last wait is None")
