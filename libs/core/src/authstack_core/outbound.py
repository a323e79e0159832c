"""Outbound connections to hosts that *users* choose (a project's SMTP server today; webhook
endpoints and OIDC discovery later): refuse the deployment's own networks.

A project administrator who can name any host can make our servers knock on loopback services,
the private network behind the deployment or the cloud's metadata endpoint (169.254.169.254):
port scanning and SSRF through the outbox. So a user-chosen host must resolve to public
addresses only, unless the operator turns ``STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS`` on (local
development, a mail relay on the private network). Hosts the operator configures (the shared
``STACK_EMAIL_HOST``) are not checked.

Use ``check_host`` when a host is saved (literal addresses and ``localhost`` names, no DNS) and
``resolve_public`` when connecting: it resolves once, checks *every* address, and returns them
so the caller connects to a checked address instead of resolving again (a second lookup could
answer differently: DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 shared space: providers' inside
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class OutboundAddressError(Exception):
    """The host is, or resolves to, an address outbound connections may not reach."""


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    """One checked address of a host: what ``socket.socket(...).connect`` needs."""

    family: socket.AddressFamily
    sockaddr: tuple[str, int] | tuple[str, int, int, int]


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form stands for (mapped, 6to4, NAT64), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached, as a phrase ("a loopback address"), or None when it
    is a public unicast address. IPv4 addresses written in IPv6 forms are judged as IPv4."""
    ip = _embedded_ipv4(address)
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT (shared) address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:  # RFC 1918, unique local fc00::/7, and the documentation/benchmark ranges
        return "a private or reserved-for-documentation address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form the system resolver accepts as an address
    (``127.0.0.1``, ``[::1]``, ``fe80::1%eth0``, and inet_aton's ``2130706433``, ``0x7f.1``,
    ``0177.0.0.1``, ``127.1``); None for a host name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    try:
        # What getaddrinfo does with a numeric IPv4 string: the classic inet_aton forms.
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def _is_local_name(host: str) -> bool:
    name = host.strip().rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost")  # RFC 6761: always loopback


def check_host(host: str, *, allow_private: bool) -> None:
    """Refuse, without DNS, a host that is obviously internal: an address in a forbidden range
    (any spelling) or a ``localhost`` name. Raise OutboundAddressError with the reason.

    Names are resolved (and checked) only when connecting: see ``resolve_public``.
    """
    if allow_private:
        return
    if _is_local_name(host):
        raise OutboundAddressError(f"{host} is a loopback host name")
    address = literal_address(host)
    if address is not None:
        reason = forbidden_reason(address)
        if reason is not None:
            raise OutboundAddressError(f"{host} is {reason}")


async def resolve_public(host: str, port: int, *, allow_private: bool) -> list[ResolvedAddress]:
    """Resolve ``host`` once and return its TCP addresses, refusing the whole host if ANY of
    them is forbidden (unless ``allow_private``). Connect to these addresses, not the name.

    Raise OutboundAddressError for a forbidden host, OSError (socket.gaierror) when it does
    not resolve.
    """
    check_host(host, allow_private=allow_private)
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    infos = await asyncio.get_running_loop().getaddrinfo(
        name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    out: list[ResolvedAddress] = []
    for family, _, _, _, sockaddr in infos:
        if not allow_private:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            reason = forbidden_reason(address)
            if reason is not None:
                raise OutboundAddressError(f"{host} resolves to {address}, {reason}")
        out.append(ResolvedAddress(family, sockaddr))  # type: ignore[arg-type]
    if not out:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no IPv4 or IPv6 address")
    return out


async def connect_tcp(addresses: list[ResolvedAddress], seconds: float) -> socket.socket:
    """A connected, non-blocking TCP socket to the first of ``addresses`` that answers within
    ``seconds``.

    Raise the last OSError (or TimeoutError) when none does.
    """
    loop = asyncio.get_running_loop()
    last: OSError | None = None
    for address in addresses:
        sock = socket.socket(address.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address.sockaddr), seconds)
        except (OSError, TimeoutError) as exc:
            sock.close()
            last = exc
            continue
        return sock
    assert last is not None, "resolve_public never returns an empty list"
    raise last
