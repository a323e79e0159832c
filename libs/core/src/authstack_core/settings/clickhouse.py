"""Where analytics live: a ClickHouse server, an embedded engine folder, or nowhere.

``STACK_CLICKHOUSE_URL`` picks one of three stores:

- ``http(s)://host:8123`` — a ClickHouse server (compose, k8s, production). The API writes and
  reads as ``STACK_CLICKHOUSE_ADMIN_USER``; admin SQL runs as ``limited_user`` (password
  ``STACK_CLICKHOUSE_EXTERNAL_PASSWORD``) under the row policies the migrator creates.
- ``chdb:///absolute/folder`` — the embedded engine (chdb) with its data in that folder. One
  process at a time may open it: the migrator migrates it and exits, then the API owns it.
  Unset, this is the default, in ``.dev/clickhouse`` under the working directory.
- ``disabled`` — no analytics: events are dropped (and counted), admin queries answer
  ANALYTICS_QUERY_ERROR.
"""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator

from authstack_core.settings.loader import Section, env

DEFAULT_EMBEDDED_FOLDER = os.path.join(".dev", "clickhouse")
StoreKind = Literal["server", "embedded", "disabled"]


class ClickHouseSection(Section):
    clickhouse_url: str = Field(default="", validation_alias=env("STACK_CLICKHOUSE_URL"))
    clickhouse_admin_user: str = Field(
        default="stackframe", validation_alias=env("STACK_CLICKHOUSE_ADMIN_USER")
    )
    clickhouse_admin_password: str = Field(
        default="", validation_alias=env("STACK_CLICKHOUSE_ADMIN_PASSWORD"), repr=False
    )
    # limited_user's password: the account admin SQL runs as on a server (contract §8).
    clickhouse_external_password: str = Field(
        default="", validation_alias=env("STACK_CLICKHOUSE_EXTERNAL_PASSWORD"), repr=False
    )
    # The database holding the public views admins query (contract §8: `default.<table>`).
    clickhouse_database: str = Field(
        default="default", validation_alias=env("STACK_CLICKHOUSE_DATABASE")
    )

    @field_validator("clickhouse_url", mode="after")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        value = value.strip()
        if value in ("", "disabled"):
            return value
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return value
        if parts.scheme == "chdb" and parts.path.startswith("/") and not parts.netloc:
            return value
        raise ValueError(
            "expected http(s)://host:port for a ClickHouse server, chdb:///absolute/folder for"
            " the embedded engine, or `disabled`"
        )

    @property
    def clickhouse_store(self) -> StoreKind:
        if self.clickhouse_url == "disabled":
            return "disabled"
        return "server" if self.clickhouse_url.startswith("http") else "embedded"

    @property
    def clickhouse_embedded_folder(self) -> str:
        """The embedded engine's folder, absolute (meaningful when the store is embedded)."""
        if self.clickhouse_url.startswith("chdb:"):
            return unquote(urlsplit(self.clickhouse_url).path)
        return os.path.abspath(DEFAULT_EMBEDDED_FOLDER)
