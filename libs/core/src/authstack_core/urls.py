"""URLs read the way a browser reads them (the WHATWG URL standard, through ada, Node's parser).

Python's ``urllib.parse`` is not a browser: it keeps a backslash inside the host, leaves
percent-escapes and full-width or ideographic dots in it, and keeps tabs and newlines that a
browser silently drops. A redirect check built on it approves ``http://evil.test\\.localhost/``
while the victim's browser goes to ``evil.test``. Everything that decides where a browser will be
sent must use :func:`parse_web_url`, and whatever is stored or e-mailed must be its ``href``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ada_url import HostType, parse_url

HostKind = Literal["domain", "ipv4", "ipv6", "none"]

# Ports the URL standard gives its special schemes; ada leaves a default port out of ``port``.
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# A browser drops tabs and newlines anywhere, trims C0 controls and spaces at the ends, and reads
# "\" as "/" in http(s) URLs. A legitimate callback URL (the SDK sends a serialised URL) has none
# of these, so their presence means the text and the browser disagree: refuse rather than guess.
_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f\\]")
_ATTRIBUTES = (
    "href", "protocol", "username", "password", "hostname", "port", "pathname", "host_type",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class WebUrl:
    """A URL as a browser parsed it.

    ``host`` is the serialised host: a lower-case, IDNA-mapped ASCII domain, a dotted-decimal
    IPv4 address (``0x7f.1`` becomes ``127.0.0.1``), a bracketed compressed IPv6 address, or ""
    when the URL has none. ``port`` is the effective port (the scheme's default when none is
    written) or None for a scheme without one.
    """

    href: str
    scheme: str
    host: str
    host_kind: HostKind
    port: int | None
    path: str
    has_credentials: bool


def parse_web_url(raw: str) -> WebUrl | None:
    """Parse ``raw`` as an absolute URL the way a browser does, or return None.

    None means a browser would refuse it (forbidden host code points, a bad port, a host that
    fails IDNA, a relative URL) or that its plain text reads differently from what a browser makes
    of it (ASCII controls, spaces, a backslash).
    """
    if _AMBIGUOUS.search(raw):
        return None
    try:
        parts = parse_url(raw, attributes=_ATTRIBUTES)
    except ValueError:
        return None
    scheme = parts["protocol"].removesuffix(":")
    host = parts["hostname"]
    written_port = parts["port"]
    host_type = parts["host_type"]
    kind: HostKind
    if not host:
        kind = "none"
    elif host_type == HostType.IPV4:
        kind = "ipv4"
    elif host_type == HostType.IPV6:
        kind = "ipv6"
    else:
        kind = "domain"
    port = int(written_port) if written_port else _DEFAULT_PORTS.get(scheme)
    return WebUrl(
        href=parts["href"],
        scheme=scheme,
        host=host,
        host_kind=kind,
        port=port,
        path=parts["pathname"],
        has_credentials=bool(parts["username"] or parts["password"]),
    )


def is_loopback(url: WebUrl) -> bool:
    """Whether a browser treats the URL's host as this machine: ``localhost``, a subdomain of it,
    ``127.0.0.1`` or ``[::1]``, judged on the parsed host, never on the text."""
    if url.host_kind == "domain":
        return url.host == "localhost" or url.host.endswith(".localhost")
    if url.host_kind == "ipv4":
        return url.host == "127.0.0.1"
    if url.host_kind == "ipv6":
        return url.host == "[::1]"
    return False


def is_localhost_url(raw: str) -> bool:
    """Whether ``raw`` is an http(s) URL on a loopback host (see :func:`is_loopback`)."""
    url = parse_web_url(raw)
    return url is not None and url.scheme in ("http", "https") and is_loopback(url)
