"""Errors of the config override API (contract §1.5). Upstream sends these as plain text."""

# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import PlainError


class InvalidConfigJson(PlainError, status=400, message="Invalid config JSON"):
    pass


class ServerAccessBranchOnly(
    PlainError, status=403, message="Server access can only manage branch config overrides."
):
    """A server key may manage the branch level only; the other levels need admin access."""


class BranchConfigSourceRequired(
    PlainError, status=400, message="source is required for branch level config"
):
    pass


class ExternalDatabaseNotFound(PlainError, status=404):
    """The project's config names no PostgreSQL ``dbSync.externalDatabases.<id>`` with this id."""

    def __init__(self, target_id: str) -> None:
        super().__init__(f"External database {target_id!r} not found.")
