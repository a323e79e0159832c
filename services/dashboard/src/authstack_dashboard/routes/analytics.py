"""A project's analytics query page: the admin's SQL goes to the API's admin query route (which
runs it read-only, limited to this project's views) and its rows come back as a table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from authstack_dashboard.client import EXPIRED_CODES, SIGNED_OUT_CODES, ApiError
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import (
    NO_ACCESS_CODES,
    Ctx,
    FormError,
    friendly_message,
    page,
    page_routes,
)

ROWS_SHOWN = 1_000
MAX_QUERY = 100_000  # characters; the form limit of every dashboard form is larger
TIMEOUT_MS = 10_000
EXAMPLES = (
    "SELECT event_type, count() FROM events GROUP BY event_type",
    "SELECT count() FROM users",
)
# Errors the usual handling owns: sign-in gone or expiring, a project that is not the admin's.
_NOT_QUERY_ERRORS = NO_ACCESS_CODES | SIGNED_OUT_CODES | EXPIRED_CODES


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    is_null: bool = False


@dataclass(frozen=True, slots=True)
class ResultTable:
    columns: list[str]
    rows: list[list[Cell]]
    total: int  # rows the API answered; at most ROWS_SHOWN are in ``rows``
    query_id: str


def _cell(value: Any) -> Cell:
    if value is None:
        return Cell("NULL", is_null=True)
    if isinstance(value, str):
        return Cell(value)
    return Cell(json.dumps(value, ensure_ascii=False))


def result_table(answer: Any) -> ResultTable:
    """The API's ``{result: [rows], query_id}`` as a table: the columns are the keys of the first
    row (a row that is not an object is shown in one ``value`` column)."""
    body = answer if isinstance(answer, dict) else {}
    result = body.get("result")
    rows: list[Any] = result if isinstance(result, list) else []
    first = rows[0] if rows else None
    columns = [str(k) for k in first] if isinstance(first, dict) else ["value"]
    shown = []
    for row in rows[:ROWS_SHOWN]:
        if isinstance(row, dict):
            shown.append([_cell(row.get(c)) for c in columns])
        else:
            shown.append([_cell(row)])
    return ResultTable(columns, shown, len(rows), str(body.get("query_id") or ""))


def _render(
    ctx: Ctx,
    project: dict[str, Any],
    query: str,
    *,
    table: ResultTable | None = None,
    error: str | None = None,
) -> Response:
    return ctx.render(
        "analytics.html",
        status=400 if error else 200,
        project=project,
        query=query,
        table=table,
        error=error,
        examples=EXAMPLES,
        rows_shown=ROWS_SHOWN,
        timeout_s=TIMEOUT_MS // 1000,
        section="analytics",
    )


@page
async def show_analytics(ctx: Ctx) -> Response:
    project = await load_project(ctx, ctx.project_id)
    # ``?query=`` fills the box (the example links); it is never run on GET.
    return _render(ctx, project, ctx.request.query_params.get("query", "")[:MAX_QUERY])


@page
async def run_query(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    here = f"/projects/{project_id}/analytics"
    query = ctx.form.get("query").strip()
    if not query or len(query) > MAX_QUERY:
        raise FormError(f"Write a query to run (at most {MAX_QUERY:,} characters).", here)
    project = await load_project(ctx, project_id)
    try:
        answer = await ctx.admin(
            "POST",
            "/internal/analytics/query",
            project_id,
            json_body={"query": query, "timeout_ms": TIMEOUT_MS},
        )
    except ApiError as exc:
        if exc.status >= 500 or exc.code in _NOT_QUERY_ERRORS:
            raise
        # ANALYTICS_QUERY_ERROR carries the engine's (sanitised) message in details.error.
        details = exc.details if isinstance(exc.details, dict) else {}
        message = details.get("error") if isinstance(details.get("error"), str) else None
        return _render(ctx, project, query, error=message or friendly_message(exc))
    return _render(ctx, project, query, table=result_table(answer))


routes = page_routes("/projects/{project_id}/analytics", show_analytics, {"": run_query})
