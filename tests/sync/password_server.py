"""A listener that speaks just enough of PostgreSQL's protocol to ask for a password and refuse
it, as a server with password authentication does (FATAL 28P01).

The machine's PostgreSQL trusts loopback, so a wrong password is never refused there; this lets
the tests see libpq's real answer to one. It keeps the passwords it was sent.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CLEARTEXT_PASSWORD = 3


@dataclass
class PasswordServer:
    port: int
    received: list[str] = field(default_factory=list)


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _error(message: str) -> bytes:
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def _serve_one(conn: socket.socket, server: PasswordServer) -> None:
    while True:  # SSL and GSS encryption requests are declined, then comes the startup packet
        (length,) = struct.unpack("!i", _read(conn, 4))
        packet = _read(conn, length - 4)
        code = struct.unpack("!i", packet[:4])[0]
        if code not in (SSL_REQUEST, GSSENC_REQUEST):
            break
        conn.sendall(b"N")
    params = packet[4:].split(b"\0")
    user = dict(zip(params[::2], params[1::2], strict=False)).get(b"user", b"").decode()
    conn.sendall(b"R" + struct.pack("!ii", 8, CLEARTEXT_PASSWORD))
    kind = _read(conn, 1)
    (length,) = struct.unpack("!i", _read(conn, 4))
    payload = _read(conn, length - 4)
    if kind == b"p":
        server.received.append(payload.rstrip(b"\0").decode())
    conn.sendall(_error(f'password authentication failed for user "{user}"'))


@contextmanager
def password_server() -> Iterator[PasswordServer]:
    """A refusing server on a free loopback port, for the ``with`` block."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)  # so that the loop sees ``stop``
    server = PasswordServer(listener.getsockname()[1])
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn, suppress(ConnectionError, OSError, struct.error):
                _serve_one(conn, server)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
