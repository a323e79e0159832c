"""A minimal pipelined Redis connection for the hot path (rate-limit checks).

redis-py's asyncio client spends about 110 us of CPU per command here (pool checkout, retry
wrappers, its parser), roughly a tenth of a whole token refresh. This speaks just what the
limiter needs of RESP2 over one connection per process: commands are written as they come and
replies are matched to waiting callers in order, so concurrent requests share the connection
without a pool. About 35 us per command.

Any failure (refused, timed out, closed, a malformed reply) drops the connection and fails
every pending call with RedisPipeError; the next call connects again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit


class RedisPipeError(Exception):
    """The command did not get a reply: Redis unreachable, too slow, or the link broke."""


class RedisReplyError(Exception):
    """Redis answered with an error reply (e.g. ``NOSCRIPT``)."""


def encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


_INCOMPLETE = object()


def parse(buf: bytes | bytearray, pos: int) -> tuple[Any, int]:
    """One RESP2 reply from ``buf[pos:]``: (value, next position), or (_INCOMPLETE, pos)."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return _INCOMPLETE, pos
    kind = buf[pos]
    line = bytes(buf[pos + 1 : end])
    nxt = end + 2
    if kind == 0x3A:  # ":" integer
        return int(line), nxt
    if kind == 0x2B:  # "+" simple string
        return line.decode(), nxt
    if kind == 0x2D:  # "-" error
        return RedisReplyError(line.decode(errors="replace")), nxt
    if kind == 0x24:  # "$" bulk string
        size = int(line)
        if size < 0:
            return None, nxt
        if len(buf) < nxt + size + 2:
            return _INCOMPLETE, pos
        return bytes(buf[nxt : nxt + size]), nxt + size + 2
    if kind == 0x2A:  # "*" array
        count = int(line)
        items: list[Any] = []
        for _ in range(max(count, 0)):
            item, nxt = parse(buf, nxt)
            if item is _INCOMPLETE:
                return _INCOMPLETE, pos
            items.append(item)
        return (items if count >= 0 else None), nxt
    raise ValueError(f"not a RESP2 reply (type byte {kind!r})")


class _Protocol(asyncio.Protocol):
    def __init__(self, pipe: RedisPipe) -> None:
        self.pipe = pipe
        self.buf = bytearray()
        self.waiters: deque[asyncio.Future[Any]] = deque()
        # uvloop's transports are not asyncio.Transport subclasses, hence no narrower type.
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        pos = 0
        try:
            while self.waiters:
                value, nxt = parse(self.buf, pos)
                if value is _INCOMPLETE:
                    break
                pos = nxt
                waiter = self.waiters.popleft()
                if not waiter.done():  # a caller that timed out has gone; its reply is dropped
                    waiter.set_result(value)
        except ValueError as exc:
            self.pipe._drop(self, f"malformed reply: {exc}")
            return
        del self.buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe._drop(self, f"connection lost: {exc or 'closed by the server'}")

    def fail_all(self, reason: str) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RedisPipeError(reason))


class RedisPipe:
    """One pipelined connection to the Redis at ``url`` (redis:// or rediss://, with optional
    user, password and database number). ``timeout_s`` bounds connecting and each reply."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        db = parts.path.strip("/")
        self.db = int(db) if db else 0
        self.timeout_s = timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def call(self, *args: Any) -> Any:
        """Send one command and return its reply; an error reply is raised as RedisReplyError."""
        protocol = self._protocol or await self._connect()
        reply = await self._send(protocol, encode(args))
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    async def _send(self, protocol: _Protocol, payload: bytes) -> Any:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        protocol.waiters.append(waiter)
        protocol.transport.write(payload)
        # A timer handle costs less than asyncio.timeout() on this path (measured).
        timer = loop.call_later(self.timeout_s, self._expire, protocol, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _expire(self, protocol: _Protocol, waiter: asyncio.Future[Any]) -> None:
        if not waiter.done():
            # The replies still owed on this connection can no longer be trusted to arrive.
            self._drop(protocol, f"no reply within {self.timeout_s * 1000:.0f} ms")

    async def _connect(self) -> _Protocol:
        if self._connecting is not None:  # another caller is connecting: wait for it
            return await asyncio.shield(self._connecting)
        loop = asyncio.get_running_loop()
        self._connecting = loop.create_future()
        try:
            async with asyncio.timeout(self.timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(self),
                    self.host,
                    self.port,
                    ssl=ssl.create_default_context() if self.tls else None,
                )
            if self.password is not None:
                auth = (self.username, self.password) if self.username else (self.password,)
                await self._handshake(protocol, ("AUTH", *auth))
            if self.db:
                await self._handshake(protocol, ("SELECT", self.db))
        except BaseException as exc:  # cancelled too: whoever waits on _connecting must wake
            error = RedisPipeError(f"cannot connect to Redis: {type(exc).__name__}: {exc}")
            self._connecting.set_exception(error)
            self._connecting.exception()  # retrieved: no "never retrieved" warning if unawaited
            self._connecting = None
            if isinstance(exc, OSError | RedisPipeError | RedisReplyError):
                raise error from None
            raise
        self._protocol = protocol
        self._connecting.set_result(protocol)
        self._connecting = None
        return protocol

    async def _handshake(self, protocol: _Protocol, args: tuple[Any, ...]) -> None:
        reply = await self._send(protocol, encode(args))
        if isinstance(reply, RedisReplyError):
            self._drop(protocol, str(reply))
            raise reply

    def _drop(self, protocol: _Protocol, reason: str) -> None:
        if self._protocol is protocol:
            self._protocol = None
        if protocol.transport is not None:
            protocol.transport.abort()
        protocol.fail_all(reason)

    def close(self) -> None:
        if self._protocol is not None:
            self._drop(self._protocol, "closed")
