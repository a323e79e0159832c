"""Reading the series out: one process, or every process sharing ``PROMETHEUS_MULTIPROC_DIR``.

Without the variable each process keeps its series in memory and a scrape sees that process.
With it (several API processes behind one port) each process writes its values to files in
that directory and a scrape of any of them adds up all of them; the directory must be empty
when the first process starts and shared by those processes only.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from authstack_core.crypto.codes import constant_time_equal

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format every Prometheus reads (our names need none of 1.0.0's escaping);
# MEDIA_TYPE for frameworks that add the charset themselves.
MEDIA_TYPE = "text/plain; version=0.0.4"
CONTENT_TYPE = MEDIA_TYPE + "; charset=utf-8"
Access = Literal["allowed", "unauthorized", "hidden"]


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_VARIABLE) or None


def prepare() -> None:
    """Create the multiprocess directory if it is named and missing (before any series is)."""
    folder = multiprocess_dir()
    if folder:
        os.makedirs(folder, exist_ok=True)


def render() -> bytes:
    """The text exposition of this process, or of every process in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_exiting() -> None:
    """In multiprocess mode: drop this process's ``live*`` gauges (its pool is gone)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access(
    token: str | None, authorization: str, client_host: str | None, *, production: bool
) -> Access:
    """Who may scrape: with a token, its bearer only (compared in constant time); without one,
    loopback clients outside production, and nobody in production ("hidden": answer 404)."""
    if token:
        expected = f"Bearer {token}".encode()
        ok = constant_time_equal(authorization.encode("latin-1", "replace"), expected)
        return "allowed" if ok else "unauthorized"
    if production:
        return "hidden"
    return "allowed" if _loopback(client_host) else "hidden"
