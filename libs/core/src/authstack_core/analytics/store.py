"""The one way to reach ClickHouse: a clickhouse-connect client over the configured store.

A server (``http(s)://``) is reached over HTTP as the admin user; the embedded engine (chdb, through
clickhouse-connect's ``chdb://`` DSN) is opened in-process from its folder. An embedded folder
belongs to one process at a time: ``open_client`` takes an exclusive ``flock`` on
``<folder>.lock`` first and refuses with ``StoreBusyError`` when another process holds it, so the
migrator (which runs first and exits) and the API (which then owns the folder) can never open it
together. chdb's own refusal in that case is an unhelpful BAD_ARGUMENTS.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import clickhouse_connect

from authstack_core.settings.clickhouse import ClickHouseSection

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# Connecting and each request to a server: past these, the caller sees StoreUnavailableError.
CONNECT_TIMEOUT_S = 3
SEND_RECEIVE_TIMEOUT_S = 30


class StoreUnavailableError(Exception):
    """ClickHouse cannot be reached or opened (not configured, down, or busy)."""


class StoreBusyError(StoreUnavailableError):
    """Another process holds the embedded folder."""


class EmbeddedLock:
    """The exclusive hold on an embedded folder, released when closed (or the process ends)."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.path = folder.rstrip("/") + ".lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise StoreBusyError(
                f"the embedded ClickHouse folder {folder} is open in another process (one process"
                " at a time: stop it, or give this one its own STACK_CLICKHOUSE_URL=chdb:///...)"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store:
    """The admin client of one store; opened on first use, closed once."""

    def __init__(self, settings: ClickHouseSection) -> None:
        self.settings = settings
        self.kind = settings.clickhouse_store
        self._client: Client | None = None
        self._lock: EmbeddedLock | None = None
        # The embedded engine is one handle for the whole process: its callers take turns.
        # A server's HTTP client is thread-safe; its callers only share the opening.
        self._mutex = threading.Lock()

    @contextlib.contextmanager
    def session(self) -> Iterator[Client]:
        """The admin client, opened on first use, for one call. Raise StoreUnavailableError."""
        if self.kind == "embedded":
            with self._mutex:
                yield self._open()
        else:
            with self._mutex:
                client = self._open()
            yield client

    def _open(self) -> Client:
        if self._client is None:
            self._client, self._lock = open_client(self.settings)
        return self._client

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        with self._mutex:
            self._close()

    def _close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def open_client(settings: ClickHouseSection) -> tuple[Client, EmbeddedLock | None]:
    """A client as the admin user, and the folder lock it holds when embedded."""
    kind = settings.clickhouse_store
    if kind == "disabled":
        raise StoreUnavailableError("analytics are disabled (STACK_CLICKHOUSE_URL=disabled)")
    if kind == "server":
        try:
            return server_client(
                settings, settings.clickhouse_admin_user, settings.clickhouse_admin_password
            ), None
        except Exception as exc:
            raise StoreUnavailableError(f"ClickHouse server unreachable: {_reason(exc)}") from exc
    folder = settings.clickhouse_embedded_folder
    lock = EmbeddedLock(folder)
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{folder}")
    except ImportError as exc:
        lock.release()
        raise StoreUnavailableError(
            "the embedded ClickHouse engine (chdb) is not installed here: set STACK_CLICKHOUSE_URL"
            " to a ClickHouse server, or to `disabled`"
        ) from exc
    except Exception as exc:
        lock.release()
        raise StoreUnavailableError(
            f"the embedded ClickHouse store cannot open: {_reason(exc)}"
        ) from exc
    return client, lock


def server_client(
    settings: ClickHouseSection, username: str, password: str, **extra: Any
) -> Client:
    """An HTTP client to the configured server as ``username``."""
    return clickhouse_connect.get_client(
        dsn=settings.clickhouse_url,
        username=username,
        password=password,
        database=settings.clickhouse_database,
        connect_timeout=CONNECT_TIMEOUT_S,
        send_receive_timeout=SEND_RECEIVE_TIMEOUT_S,
        **extra,
    )


def _reason(exc: BaseException) -> str:
    """The first line of an error, which never carries the password (it is not in the DSN)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
