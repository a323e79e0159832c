"""The HTTP transport of OAuth requests: to a project's own provider, public addresses only.

A project administrator names a generic OpenID Connect provider by its issuer URL, and the
discovery document it serves names the token, userinfo and key endpoints. Those requests go
through ``public_only_transport``: every connection resolves its host once (``resolve_public``),
refuses the host if any address is internal (unless the operator allows private networks), and
connects to a checked address, never to the name again (no DNS rebinding). TLS still verifies
the name. Environment proxies are ignored: a proxy would make the checked address the proxy's.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2
from httpx2 import create_ssl_context

from authstack_core.outbound import resolve_public

# Seconds a provider may take to answer one request (connect, then each read or write).
TIMEOUT = httpx2.Timeout(10.0, connect=5.0)
# The largest document read from a provider (discovery, key set, profile): far above real ones.
MAX_RESPONSE_BYTES = 1 << 20


class _CheckedAddressBackend(httpcore2.AsyncNetworkBackend):
    """Connects a TCP stream to a checked address of the host, never by name."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            addresses = await resolve_public(host, port, allow_private=self._allow_private)
        except socket.gaierror as exc:
            raise httpcore2.ConnectError(f"{host} does not resolve: {exc}") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address.sockaddr[0]),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None, "resolve_public never returns an empty list"
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not outbound targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def public_only_transport(*, allow_private: bool) -> httpx2.AsyncHTTPTransport:
    """A transport whose connections reach only checked public addresses (see the module doc);
    ``allow_private`` (STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS) lifts the check, not the resolving.

    A refused host raises ``OutboundAddressError`` out of the request.
    """
    transport = httpx2.AsyncHTTPTransport(trust_env=False)
    # httpx2 takes no network backend; this is the pool it builds for a direct connection (no
    # proxy, default limits) with the checking backend in place of the default one.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=create_ssl_context(trust_env=False),
        network_backend=_CheckedAddressBackend(allow_private=allow_private),
    )
    return transport


async def get_json(client: httpx2.AsyncClient, url: str, **kwargs: Any) -> Any:
    """GET ``url`` with ``client`` (``kwargs`` go to its ``stream``) and parse the JSON answer.

    Raise ``httpx2.HTTPStatusError`` for a non-2xx answer and ValueError for a body that is not
    JSON or is larger than MAX_RESPONSE_BYTES (read no further than that).
    """
    async with client.stream("GET", url, **kwargs) as response:
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise ValueError(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
    return json.loads(body)
