"""Helpers for the migrator tests: the ledger, one-row queries, the command line."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg


def ledger_rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()


def one_row(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()  # type: ignore[arg-type]


def run_cli(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``python -m authstack_migrator <command>`` with exactly ``env``; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "authstack_migrator", command],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
