"""A project's JWKS, fetched once and cached; refetched on an unknown ``kid``, at most once per
interval, however many threads or tasks ask at the same moment."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from authstack_sdk.token_errors import InvalidTokenError, JwksUnavailableError


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The keys as last fetched; replaced whole, so readers never need the lock."""

    keys: Mapping[str, ECKey]
    fetched_at: float | None  # monotonic seconds; None until a fetch succeeds


@dataclass(eq=False, slots=True)
class _Flight:
    """One fetch in progress. Threads wait on ``done``; tasks register a future of their own loop,
    resolved through that loop's ``call_soon_threadsafe`` (the fetch may end in another thread)."""

    done: threading.Event = field(default_factory=threading.Event)
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter that timed out has cancelled its future
        future.set_result(None)


def parse_jwks(document: Any) -> dict[str, ECKey]:
    """The ES256 (P-256) keys of a JWKS document by ``kid``; other keys are ignored. Raises
    ValueError when the document holds none."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS document has no 'keys' list")  # noqa: TRY004 - bad content
    keys: dict[str, ECKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("alg", "ES256") != "ES256" or "d" in entry:  # never accept a private key
            continue
        try:
            keys[entry["kid"]] = ECKey.import_key(entry)
        except (JoseError, ValueError):
            continue
    if not keys:
        raise ValueError("the JWKS document holds no ES256 key")
    return keys


class JwksCache:
    """Keys by ``kid`` from one JWKS URL.

    The first lookup fetches the document; later lookups read the cached keys without a lock. An
    unknown ``kid``, or keys older than ``max_age``, trigger a refetch, but fetches start at most
    once per ``min_refresh_interval`` seconds: concurrent callers share one fetch (threads and
    asyncio tasks alike) and callers inside the interval use the keys already known.
    """

    def __init__(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        min_refresh_interval: float = 10.0,
        max_age: float = 3600.0,
        timeout: float = 10.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._params = dict(params or {})
        self._min_interval = min_refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._clock = clock
        self._snapshot = _Snapshot({}, None)
        self._lock = threading.Lock()  # guards the fields below; never held during I/O
        self._flight: _Flight | None = None
        self._last_attempt: float | None = None
        self._last_error = "the JWKS has not been fetched yet"

    # -- lookups ------------------------------------------------------------------------------

    def get_key(self, kid: str) -> ECKey:
        """The key named ``kid``, fetching or refreshing the JWKS (blocking) when needed. Raises
        InvalidTokenError for a kid the project does not have, JwksUnavailableError when no keys
        could ever be fetched."""
        snapshot = self._snapshot
        key = snapshot.keys.get(kid)
        if key is not None and not self._is_stale(snapshot):
            return key
        flight, owner = self._claim(snapshot)
        if owner:
            assert flight is not None
            self._run(flight, self._fetch_sync)
        elif flight is not None and key is None:
            flight.done.wait(self._timeout + 1)
        return self._result(kid)

    async def get_key_async(self, kid: str) -> ECKey:
        """As get_key, fetching with httpx's async client and waiting without blocking the loop."""
        snapshot = self._snapshot
        key = snapshot.keys.get(kid)
        if key is not None and not self._is_stale(snapshot):
            return key
        waiter: asyncio.Future[None] | None = None
        with self._lock:
            flight, owner = self._claim_locked(snapshot)
            if flight is not None and not owner and key is None:
                loop = asyncio.get_running_loop()
                waiter = loop.create_future()
                flight.waiters.append((loop, waiter))
        if owner:
            assert flight is not None
            await self._run_async(flight)
        elif waiter is not None:
            # A stuck fetch: stop waiting and answer with what is known.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, self._timeout + 1)
        return self._result(kid)

    def _result(self, kid: str) -> ECKey:
        snapshot = self._snapshot
        key = snapshot.keys.get(kid)
        if key is not None:
            return key
        if snapshot.fetched_at is None:
            raise JwksUnavailableError(
                f"the project's JWKS could not be fetched: {self._last_error}"
            )
        raise InvalidTokenError("the token's key id is not in the project's JWKS")

    def _is_stale(self, snapshot: _Snapshot) -> bool:
        return snapshot.fetched_at is None or self._clock() - snapshot.fetched_at > self._max_age

    # -- the one fetch in flight --------------------------------------------------------------

    def _claim(self, seen: _Snapshot) -> tuple[_Flight | None, bool]:
        with self._lock:
            return self._claim_locked(seen)

    def _claim_locked(self, seen: _Snapshot) -> tuple[_Flight | None, bool]:
        """(the flight to wait for or run, whether this caller runs it). (None, False) when the
        keys changed since ``seen`` (use them) or the interval forbids a new fetch."""
        if self._snapshot is not seen:
            return None, False
        if self._flight is not None:
            return self._flight, False
        now = self._clock()
        if self._last_attempt is not None and now - self._last_attempt < self._min_interval:
            return None, False
        self._last_attempt = now
        self._flight = _Flight()
        return self._flight, True

    def _run(self, flight: _Flight, fetch: Callable[[], Any]) -> None:
        keys: dict[str, ECKey] | None = None
        error = "interrupted"
        try:
            keys = parse_jwks(fetch())
        except (httpx.HTTPError, ValueError) as exc:
            error = _describe(exc)
        finally:
            self._finish(flight, keys, error)

    async def _run_async(self, flight: _Flight) -> None:
        keys: dict[str, ECKey] | None = None
        error = "interrupted"
        try:
            keys = parse_jwks(await self._fetch_async())
        except (httpx.HTTPError, ValueError) as exc:
            error = _describe(exc)
        finally:  # also when the task is cancelled: waiters must not wait for a dead flight
            self._finish(flight, keys, error)

    def _finish(self, flight: _Flight, keys: dict[str, ECKey] | None, error: str) -> None:
        with self._lock:
            if keys is not None:
                self._snapshot = _Snapshot(keys, self._clock())
            else:
                self._last_error = error
            self._flight = None
            flight.done.set()
            waiters, flight.waiters = flight.waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there
                loop.call_soon_threadsafe(_wake, future)

    # -- HTTP ---------------------------------------------------------------------------------

    def _fetch_sync(self) -> Any:
        if self._http_client is not None:
            response = self._http_client.get(self.url, params=self._params, timeout=self._timeout)
        else:  # fetches are rare: a client per fetch owns no connection between them
            with httpx.Client(timeout=self._timeout) as client:
                response = client.get(self.url, params=self._params)
        return _document(response)

    async def _fetch_async(self) -> Any:
        if self._async_http_client is not None:
            client = self._async_http_client
            response = await client.get(self.url, params=self._params, timeout=self._timeout)
        else:  # a client per fetch also keeps the cache usable from several event loops
            async with httpx.AsyncClient(timeout=self._timeout) as own:
                response = await own.get(self.url, params=self._params)
        return _document(response)


def _document(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise ValueError(f"GET {response.request.url.path} answered {response.status_code}")
    return response.json()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
