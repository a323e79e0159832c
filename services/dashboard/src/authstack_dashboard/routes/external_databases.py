"""A project's external databases, on its Settings page: the PostgreSQL databases its users,
teams and permissions are copied to, each added by connection string, tested, removed, with
its sync status per mapping (last synced id, lag, last error).

Written through the config API at the environment level (``dbSync.externalDatabases.<id>``);
the API seals connection strings and only ever shows them redacted, and tests a stored one by
its id, so the dashboard never holds a stored password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from authstack_dashboard.session import Flash
from authstack_dashboard.web import SLUG, Ctx, FormError, form_routes, page, slug_param

PREFIX = "dbSync.externalDatabases"
OVERRIDE = "/internal/config/override/environment"
STATUS = "/internal/external-db-sync/status"
TEST = "/internal/external-db-sync/test-connection"
CONNECTION_OK = "Connection OK: the sync can reach this database and create its tables there."


@dataclass(frozen=True)
class DatabaseView:
    """One external database as the Settings page shows it."""

    id: str
    connection_string: str  # redacted by the API
    mappings: list[dict[str, Any]]

    @property
    def state(self) -> tuple[str, str]:
        """(badge class, text) summing the mappings up."""
        if any(m.get("last_error") for m in self.mappings):
            return "warn", "error"
        if not self.mappings or all(m["last_synced_sequence_id"] is None for m in self.mappings):
            return "", "not synced yet"
        behind = sum(
            int(m.get("lag") or 0) + int(m.get("pending_changes") or 0) for m in self.mappings
        )
        return ("ok", "in sync") if behind == 0 else ("", f"{behind} changes to copy")


def database_views(config: dict[str, Any], status: dict[str, Any]) -> list[DatabaseView]:
    """The rendered config's external databases, by id, each with its status rows."""
    entries = (config.get("dbSync") or {}).get("externalDatabases") or {}
    by_id = {t["id"]: t["mappings"] for t in status.get("targets", []) if t.get("id") is not None}
    return [
        DatabaseView(db_id, str(entry.get("connectionString") or ""), by_id.get(db_id, []))
        for db_id, entry in sorted(entries.items())
        if isinstance(entry, dict)
    ]


def _here(ctx: Ctx) -> str:
    return f"/projects/{ctx.project_id}/settings"


def _database_id(ctx: Ctx) -> str:
    return slug_param(ctx.request, "database_id", "external database")


async def _configured(ctx: Ctx) -> set[str]:
    rendered = await ctx.admin("GET", "/internal/config", ctx.project_id)
    config = json.loads(rendered["config_string"])
    entries = (config.get("dbSync") or {}).get("externalDatabases") or {}
    return set(entries)


def _result_flash(answer: dict[str, Any]) -> Flash:
    if answer.get("ok"):
        return Flash("ok", CONNECTION_OK)
    return Flash("error", f"Connection failed: {answer.get('error')}")


def new_database_form(ctx: Ctx) -> dict[str, str]:
    """The add form's values (id, connection string), checked; FormError when unusable."""
    database_id = ctx.form.get("database_id").strip().lower()
    connection_string = ctx.form.get("connection_string").strip()
    if not SLUG.match(database_id):
        raise FormError(
            "The database id is lowercase letters, digits, - and _ (such as warehouse).",
            _here(ctx),
        )
    if not connection_string.startswith(("postgres://", "postgresql://")):
        raise FormError(
            "The connection string is a PostgreSQL URL such as "
            "postgres://user:password@db.example.com:5432/analytics.",
            _here(ctx),
        )
    return {"database_id": database_id, "connection_string": connection_string}


async def check_new_database(ctx: Ctx) -> tuple[dict[str, str], Flash]:
    """Test the add form's connection string; its values (to fill the form again) and result."""
    values = new_database_form(ctx)
    body = {"connection_string": values["connection_string"]}
    answer = await ctx.admin("POST", TEST, ctx.project_id, json_body=body)
    return values, _result_flash(answer)


@page
async def add_database(ctx: Ctx) -> Response:
    values = new_database_form(ctx)
    database_id = values["database_id"]
    if database_id in await _configured(ctx):
        raise FormError(f"There is already an external database {database_id}.", _here(ctx))
    entry = {"type": "postgres", "connectionString": values["connection_string"]}
    body = {"config_override_string": json.dumps({f"{PREFIX}.{database_id}": entry})}
    await ctx.admin("PATCH", OVERRIDE, ctx.project_id, json_body=body)
    return ctx.redirect(
        _here(ctx),
        f"External database {database_id} added: the next sync run (every minute) fills it.",
    )


@page
async def check_database(ctx: Ctx) -> Response:
    database_id = _database_id(ctx)
    answer = await ctx.admin("POST", TEST, ctx.project_id, json_body={"id": database_id})
    flash = _result_flash(answer)
    return ctx.redirect(_here(ctx), f"{database_id}: {flash.text}", flash.kind)


@page
async def remove_database(ctx: Ctx) -> Response:
    database_id = _database_id(ctx)
    body = {"keys": [f"{PREFIX}.{database_id}"]}
    await ctx.admin("POST", OVERRIDE + "/reset-keys", ctx.project_id, json_body=body)
    if database_id in await _configured(ctx):
        return ctx.redirect(
            _here(ctx),
            f"{database_id} is also set in the branch config (pushed from a config file): "
            "remove it there.",
            "error",
        )
    return ctx.redirect(
        _here(ctx), f"External database {database_id} removed; nothing is copied there any more."
    )


routes = form_routes(
    "/projects/{project_id}/settings/external-databases",
    {
        "/add": add_database,
        "/{database_id}/test": check_database,
        "/{database_id}/remove": remove_database,
    },
)
