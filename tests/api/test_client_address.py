"""Which address is the client's: the peer, or what trusted proxies say in X-Forwarded-For."""

from __future__ import annotations

import ipaddress

import pytest

from authstack_api.middleware import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("198.51.100.7", [b"203.0.113.1"], "198.51.100.7"),
        ("127.0.0.1", [b"203.0.113.1"], "127.0.0.1"),
        # A trusted proxy: the right-most hop that is not a proxy; hops to its left are claims.
        ("10.1.1.1", [b"203.0.113.1"], "203.0.113.1"),
        ("10.1.1.1", [b"192.0.2.66, 203.0.113.1"], "203.0.113.1"),
        ("10.1.1.1", [b"192.0.2.66, 203.0.113.1, 10.2.2.2"], "203.0.113.1"),
        ("10.1.1.1", [b"192.0.2.66", b"203.0.113.1, 10.2.2.2"], "203.0.113.1"),
        ("::1", [b"2001:db8::5"], "2001:db8::5"),
        ("::ffff:10.1.1.1", [b"203.0.113.1"], "203.0.113.1"),
        # Nothing forwarded, or only proxies: the left-most trusted hop.
        ("10.1.1.1", [], "10.1.1.1"),
        ("10.1.1.1", [b"10.3.3.3, 10.2.2.2"], "10.3.3.3"),
        # A malformed hop stops the walk at the last trusted address.
        ("10.1.1.1", [b"203.0.113.1, not-an-ip"], "10.1.1.1"),
        ("10.1.1.1", [b"203.0.113.1:4711"], "10.1.1.1"),
    ],
)
def test_client_address(peer: str, forwarded: list[bytes], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address("10.1.1.1", [b"203.0.113.1"], ()) == "10.1.1.1"
    assert client_address(None, [b"203.0.113.1"], PROXIES) is None
