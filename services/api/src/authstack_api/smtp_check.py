"""The API's own SMTP conversations, each one connection long: the shared server's reachability
for ``/health/email`` (connect and EHLO, no mail) and ``POST /internal/send-test-email`` (one
message, the outcome in words an admin can act on).

The worker's pooled delivery lives in authstack_worker.smtp; these are the two places where the
API itself talks SMTP, synchronously, with a short time limit. A host that a project's admin
chose is reached only at public addresses (``authstack_core.outbound``), unless the operator
allows private ones; the operator's shared server is not checked.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from authstack_core.models.emails import SmtpTarget
from authstack_core.outbound import OutboundAddressError
from authstack_core.smtp_connect import open_smtp

_TLS = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR


@dataclass(frozen=True, slots=True)
class Reachability:
    reachable: bool
    latency_ms: float
    error: str | None = None


def _cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None and exc.__cause__ is not exc:
        exc = exc.__cause__
    return exc


def explain(exc: BaseException, host: str, port: int, stage: str) -> str:
    """A failure in words an admin can act on; never a credential."""
    where = f"{host}:{port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc, stage = exc.recipients[0], "RCPT TO"  # one recipient: its refusal is the reason
    cause = _cause(exc)
    if isinstance(exc, OutboundAddressError):
        return (
            f"Refused to connect to {where}: {exc}. A project's SMTP server must be on a public "
            "network (the operator may allow private ones: STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS)."
        )
    if isinstance(cause, socket.gaierror):
        return f"The host {host} does not resolve."
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {where} is not trusted: {cause.verify_message}."
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"{where} refused the login: {exc.code} {exc.message}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{where} answered {exc.code} {exc.message} (at {stage})."
    if isinstance(
        exc, aiosmtplib.SMTPConnectTimeoutError | TimeoutError | aiosmtplib.SMTPTimeoutError
    ):
        return f"Timed out talking to {where} (at {stage}). Is the server running and reachable?"
    if isinstance(exc, aiosmtplib.SMTPConnectError) or isinstance(cause, OSError):
        return f"Could not connect to {where}: {cause}."
    return f"Could not talk to {where} (at {stage}): {type(exc).__name__}: {exc}"


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except aiosmtplib.SMTPException:
        client.close()


async def probe(target: SmtpTarget, seconds: float) -> Reachability:
    """Connect and say EHLO, nothing more: no login, no STARTTLS, no mail."""
    started = time.monotonic()
    stage = "connect"
    client = None
    try:
        bare = SmtpTarget(
            host=target.host,
            port=target.port,
            username=None,
            password=None,
            implicit_tls=target.implicit_tls,
            sender=target.sender,
            sender_address=target.sender_address,
            public_only=target.public_only,
        )
        client = await open_smtp(bare, seconds=seconds, tls=_TLS, start_tls=False)
        stage = "EHLO"
        await client.ehlo()
        await _quit(client)
    except Exception as exc:  # every failure is an answer here
        if client is not None:
            client.close()
        elapsed = (time.monotonic() - started) * 1000
        return Reachability(False, round(elapsed, 1), explain(exc, target.host, target.port, stage))
    return Reachability(True, round((time.monotonic() - started) * 1000, 1))


def build_message(
    target: SmtpTarget, recipient: str, subject: str, text: str, html: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = target.sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=target.sender_address.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


async def send_once(target: SmtpTarget, message: EmailMessage, seconds: float) -> str | None:
    """Deliver ``message`` on a connection of its own; None when the server took it, else why
    not."""
    stage = "connect"
    client = None
    try:
        client = await open_smtp(target, seconds=seconds, tls=_TLS)  # STARTTLS when offered
        stage = "sending"
        await client.send_message(message, sender=target.sender_address)
        await _quit(client)
    except Exception as exc:  # the outcome is the answer
        if client is not None:
            client.close()
        return explain(exc, target.host, target.port, stage)
    return None
