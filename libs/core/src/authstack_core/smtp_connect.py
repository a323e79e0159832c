"""Opening one SMTP connection to an ``SmtpTarget``: the worker's pool and the API's one-off
conversations (test sends, the health probe) connect the same way."""

from __future__ import annotations

import ssl

import aiosmtplib

from authstack_core.models.emails import SmtpTarget
from authstack_core.outbound import connect_tcp, resolve_public


async def open_smtp(
    target: SmtpTarget, *, seconds: float, tls: ssl.SSLContext, start_tls: bool | None = None
) -> aiosmtplib.SMTP:
    """A client connected to ``target`` (implicit TLS or, with ``start_tls`` None, STARTTLS when
    the server offers it) and logged in if the target has a user.

    A target that must be public (a project's own server) is resolved once, every address
    checked (OutboundAddressError), and aiosmtplib gets a socket connected to a checked address:
    it never resolves the name again (no DNS rebinding), while the name still serves for TLS
    (SNI and the certificate check).
    """
    sock = None
    if target.public_only:
        addresses = await resolve_public(target.host, target.port, allow_private=False)
        sock = await connect_tcp(addresses, seconds)
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=None if sock is not None else target.port,
        sock=sock,
        username=target.username,
        password=target.password,
        use_tls=target.implicit_tls,
        start_tls=False if target.implicit_tls else start_tls,
        tls_context=tls,
        timeout=seconds,
    )
    try:
        await client.connect()
    except BaseException:
        if sock is not None:
            sock.close()  # aiosmtplib owns it only once its transport is up
        raise
    return client
