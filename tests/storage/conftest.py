"""The storage tests use the API tests' internal admin (project logos)."""

from tests.api.conftest import admin_access_token

__all__ = ["admin_access_token"]
