"""Which addresses a user-chosen host may reach (SMTP today, webhooks and OIDC later)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from authstack_core.outbound import (
    OutboundAddressError,
    check_host,
    forbidden_reason,
    literal_address,
    resolve_public,
)

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "0.0.0.0": "unspecified",  # noqa: S104 (a value under test)
    "0.1.2.3": "private",  # "this network"
    "192.0.2.10": "documentation",  # TEST-NET-1
    "198.18.0.1": "private",  # benchmarking
    "224.0.0.1": "multicast",
    "240.0.0.1": "private",  # reserved class E
    "255.255.255.255": "private",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
    "::127.0.0.1": "reserved",  # IPv4-compatible (deprecated)
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "kind"), list(FORBIDDEN.items()))
def test_internal_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    reason = forbidden_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        # The classic inet_aton spellings getaddrinfo also accepts: all of them are 127.0.0.1.
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 (a value under test)
        ("smtp.example.com", None),
        ("localhost", None),
    ],
)
def test_literal_addresses_in_every_spelling(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found is not None else None) == address
    if address is not None and ":" not in host and not host.startswith("["):
        # The system resolver agrees: these strings are addresses, not names.
        resolved = {info[4][0] for info in socket.getaddrinfo(host, 25, type=socket.SOCK_STREAM)}
        assert resolved == {address}


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "10.0.0.5",
        "localhost",
        "LOCALHOST.",
        "mail.localhost",
        "ip6-localhost",
    ],
)
def test_check_host_refuses_internal_hosts_unless_allowed(host: str) -> None:
    with pytest.raises(OutboundAddressError, match=host.replace(".", r"\.").replace("[", r"\[")):
        check_host(host, allow_private=False)
    check_host(host, allow_private=True)  # the operator's switch


def test_check_host_leaves_names_and_public_addresses_alone() -> None:
    for host in ("smtp.example.com", "8.8.8.8", "[2606:4700:4700::1111]", "localhost.example"):
        check_host(host, allow_private=False)


def test_resolving_refuses_a_name_that_points_inside() -> None:
    """The machine's own host name resolves to a loopback or private address: a name that
    passes the save-time check is still refused when the worker connects."""
    name = socket.gethostname()
    check_host(name, allow_private=False)  # a plain name: nothing to see without DNS
    with pytest.raises(OutboundAddressError, match=f"{name} resolves to"):
        asyncio.run(resolve_public(name, 25, allow_private=False))


def test_resolving_returns_the_checked_addresses_to_connect_to() -> None:
    allowed = asyncio.run(resolve_public("localhost", 2525, allow_private=True))
    assert {a.sockaddr[0] for a in allowed} <= {"127.0.0.1", "::1"}
    assert all(a.sockaddr[1] == 2525 for a in allowed)
    literal = asyncio.run(resolve_public("0x7f.1", 25, allow_private=True))
    assert [a.sockaddr[0] for a in literal] == ["127.0.0.1"]
    with pytest.raises(OutboundAddressError, match="loopback"):
        asyncio.run(resolve_public("0x7f.1", 25, allow_private=False))
