"""SMTP delivery with aiosmtplib: implicit TLS, STARTTLS or plain, and reused connections.

Connections are kept per server (host, port, user, TLS mode) and reused by the next message to the
same server, so a burst of emails costs one handshake (and one login) per connection rather than
per message. Failures are classified as temporary (retry later) or permanent (record and stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field
from email import policy
from email.errors import MessageError
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate
from typing import Any

import aiosmtplib
import structlog

from authstack_core.domain.email_delivery import Delivery
from authstack_core.email_address import with_ascii_domain
from authstack_core.email_rendering import html_to_text
from authstack_core.models.emails import SmtpTarget
from authstack_core.outbound import OutboundAddressError
from authstack_core.smtp_connect import open_smtp

log = structlog.get_logger(__name__)

IDLE_SECONDS = 30.0  # a reused connection older than this is closed, not trusted
MESSAGES_PER_CONNECTION = 100  # many servers cap a session; start a fresh one before they do


class SmtpDeliveryError(Exception):
    """Delivery failed; ``temporary`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class _UrlListHeader(UnstructuredHeader, BaseHeader):
    """``List-Unsubscribe`` (RFC 2369): angle-bracketed URLs, which a reader takes literally. The
    default folding would turn a URL longer than a line into RFC 2047 encoded words, which no
    mail client decodes there; it is ASCII without spaces, so it is written out unfolded (RFC
    5322 allows lines up to 998 characters)."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        if not value.isascii() or any(c in value for c in "\r\n"):
            raise ValueError("List-Unsubscribe must be ASCII on one line")
        super().parse(value, kwds)

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _UrlListHeader)
# RFC 5322 with CRLF; non-ASCII display names and subjects become RFC 2047 encoded words.
_POLICY = policy.SMTP.clone(header_factory=_HEADERS)
# For a recipient whose local part is not ASCII, which only SMTPUTF8 (RFC 6531) can carry.
_POLICY_UTF8 = policy.SMTPUTF8.clone(header_factory=_HEADERS)
_ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058


def _one_line(value: str) -> str:
    # Values are single-line by construction; make sure no CR/LF can ever start a new header.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def build_message(delivery: Delivery) -> bytes:
    """The RFC 5322 message: multipart/alternative, a text part (derived from the HTML when the
    template has none) and the HTML, with Date, a per-row Message-ID on the sender's domain, and
    for a mail the user may turn off, ``List-Unsubscribe`` with one-click (RFC 8058).

    Built with the email package's EmailMessage: display names and subjects are encoded by its
    header registry (RFC 2047), bodies as UTF-8 quoted-printable. Raises ValueError or
    email.errors.MessageError for an address it cannot write.
    """
    target = delivery.smtp
    message = delivery.message
    recipient = with_ascii_domain(_one_line(delivery.recipient))
    utf8 = not recipient.isascii()
    msg = EmailMessage(policy=_POLICY_UTF8 if utf8 else _POLICY)
    if target.sender_name is not None:
        msg["From"] = Address(
            _one_line(target.sender_name), addr_spec=with_ascii_domain(target.sender_address)
        )
    else:
        msg["From"] = _one_line(target.sender)
    # The header registry refuses a non-ASCII local part in an Address; under SMTPUTF8 the
    # plain string is written as UTF-8, as RFC 6532 has it.
    msg["To"] = recipient if utf8 else Address(addr_spec=recipient)
    msg["Subject"] = _one_line(message.subject)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = delivery.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies, please
    if delivery.unsubscribe_url is not None:
        msg["List-Unsubscribe"] = f"<{delivery.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = _ONE_CLICK
    text = message.text if message.text.strip() else html_to_text(message.html)
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def _describe(exc: BaseException, stage: str, target: SmtpTarget) -> SmtpDeliveryError:
    where = f"{target.host}:{target.port}"
    cause = _root_cause(exc)
    if isinstance(exc, OutboundAddressError):
        # Permanent: the address is not for us to reach. No connection was made.
        return SmtpDeliveryError(
            f"refused to connect to {where}: {exc}; a project's SMTP server must be on a public "
            "network (the operator may allow private ones: STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS)",
            temporary=False,
        )
    if isinstance(cause, ssl.SSLCertVerificationError):  # aiosmtplib wraps it in a connect error
        return SmtpDeliveryError(
            f"TLS certificate of {where} not trusted: {cause.verify_message}", temporary=False
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"SMTP {exc.code} {exc.message} (at {stage}, {where})"
        # 4xx: the server asks to try again later; 5xx: it refuses for good.
        return SmtpDeliveryError(text, temporary=400 <= exc.code < 500)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return SmtpDeliveryError(f"{where} does not support {exc} (at {stage})", temporary=False)
    if isinstance(exc, ValueError):  # an address aiosmtplib cannot quote safely
        return SmtpDeliveryError(f"invalid address: {exc}", temporary=False)
    if isinstance(exc, TimeoutError):
        return SmtpDeliveryError(f"timed out talking to {where} (at {stage})", temporary=True)
    return SmtpDeliveryError(
        f"could not deliver through {where} (at {stage}): {type(exc).__name__}: {exc}",
        temporary=True,
    )


@dataclass(eq=False)
class _Connection:
    client: aiosmtplib.SMTP
    last_used: float = field(default_factory=time.monotonic)
    sent: int = 0

    def fresh_enough(self) -> bool:
        return (
            self.client.is_connected
            and time.monotonic() - self.last_used < IDLE_SECONDS
            and self.sent < MESSAGES_PER_CONNECTION
        )


class SmtpPool:
    """Idle SMTP connections per server, at most ``max_per_server`` in use per server at once."""

    def __init__(self, *, timeout: float, max_per_server: int) -> None:
        self.timeout = timeout
        self.max_per_server = max_per_server
        self._idle: dict[tuple[str, int, str | None, str, bool], list[_Connection]] = {}
        self._slots: dict[tuple[str, int, str | None, str, bool], asyncio.Semaphore] = {}
        self._tls = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        self.connections_opened = 0

    async def _open(self, target: SmtpTarget) -> _Connection:
        # A project's server is reached at a checked public address only (see open_smtp).
        client = await open_smtp(target, seconds=self.timeout, tls=self._tls)
        self.connections_opened += 1
        return _Connection(client)

    def _take_idle(self, key: tuple[str, int, str | None, str, bool]) -> _Connection | None:
        idle = self._idle.get(key, [])
        while idle:
            conn = idle.pop()
            if conn.fresh_enough():
                return conn
            conn.client.close()
        return None

    async def send(self, delivery: Delivery) -> str:
        """Deliver one message; return the server's reply to DATA. Raise SmtpDeliveryError."""
        target = delivery.smtp
        key = target.pool_key
        slots = self._slots.setdefault(key, asyncio.Semaphore(self.max_per_server))
        try:
            data = build_message(delivery)
        except (ValueError, MessageError) as exc:
            raise SmtpDeliveryError(
                f"the message cannot be written: {exc}", temporary=False
            ) from exc
        async with slots:
            conn = self._take_idle(key)
            reused = conn is not None
            stage = "connect"
            try:
                if conn is None:
                    conn = await self._open(target)
                stage = "MAIL FROM"
                try:
                    await conn.client.mail(target.sender_address)
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    # The server closed the idle connection; nothing was sent on it. Start over.
                    conn.client.close()
                    stage = "connect"
                    conn = await self._open(target)
                    stage = "MAIL FROM"
                    await conn.client.mail(target.sender_address)
                stage = "RCPT TO"
                await conn.client.rcpt(delivery.recipient)
                stage = "DATA"
                response = await conn.client.data(data)
            except Exception as exc:
                # Even after a plain refusal the session could be reused, but a refused message
                # is rare and a session in an unknown state is costly: close it.
                if conn is not None:
                    conn.client.close()
                raise _describe(exc, stage, target) from exc
            conn.sent += 1
            conn.last_used = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
            return f"{response.code} {response.message}"

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                with contextlib.suppress(Exception):  # closing anyway
                    await asyncio.wait_for(conn.client.quit(), timeout=2)
                conn.client.close()
        self._idle.clear()
