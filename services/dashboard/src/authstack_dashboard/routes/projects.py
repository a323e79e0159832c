"""The signed-in admin's projects: list, create, and each project's overview."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.charts import overview_charts
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes

MAX_NAME = 256


async def load_project(ctx: Ctx, project_id: str) -> dict[str, Any]:
    project: dict[str, Any] = await ctx.admin("GET", "/internal/projects/current", project_id)
    return project


@page
async def list_projects(ctx: Ctx) -> Response:
    owned, me = await gather(
        ctx.internal("GET", "/internal/projects"), ctx.internal("GET", "/users/me")
    )
    items = sorted(owned["items"], key=lambda p: p["created_at_millis"], reverse=True)
    # Teams the admin can create a project for: the selected team, and those owning projects.
    teams: dict[str, str] = {}
    if me.get("selected_team"):
        teams[me["selected_team"]["id"]] = me["selected_team"]["display_name"]
    for project in items:
        team_id = project.get("owner_team_id")
        if team_id and team_id not in teams:
            teams[team_id] = f"Team {team_id[:8]}"
    return ctx.render("projects.html", projects=items, teams=teams, me=me)


@page
async def create_project(ctx: Ctx) -> Response:
    form = ctx.form
    name = form.get("display_name").strip()
    if not name or len(name) > MAX_NAME:
        raise FormError(f"Give the project a name (1 to {MAX_NAME} characters).", "/projects")
    owner = form.get("owner_team_id").strip()
    if not owner:
        raise FormError("Choose the team that will own the project.", "/projects")
    created = await ctx.internal(
        "POST",
        "/internal/projects",
        json_body={
            "display_name": name,
            "description": form.get("description").strip(),
            "owner_team_id": owner,
            # Localhost redirects only when the admin ticks the box (new projects refuse them).
            "config": {"allow_localhost": form.flag("allow_localhost")},
        },
    )
    return ctx.redirect(
        f"/projects/{created['id']}/api-keys",
        f"Project “{name}” created. Create a key set to connect your app.",
    )


@page
async def overview(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, metrics = await gather(
        load_project(ctx, project_id), ctx.admin("GET", "/internal/metrics", project_id)
    )
    return ctx.render(
        "overview.html",
        project=project,
        metrics=metrics,
        charts=overview_charts(metrics),
        section="overview",
    )


routes = [
    *page_routes("/projects", list_projects, {"/create": create_project}),
    Route("/projects/{project_id}", overview, methods=["GET"]),
]
