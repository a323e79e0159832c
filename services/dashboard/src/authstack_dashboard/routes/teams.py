"""A project's teams: list, create, detail with members, add and remove a member."""

from __future__ import annotations

import re

from starlette.responses import Response

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes, uuid_param

MAX_NAME = 256
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@page
async def list_teams(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, teams = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", "/teams", project_id, params={"desc": "true"}),
    )
    return ctx.render("teams.html", project=project, teams=teams["items"], section="teams")


@page
async def create_team(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    here = f"/projects/{project_id}/teams"
    name = ctx.form.get("display_name").strip()
    if not name:
        raise FormError("A team needs a name.", here)
    if len(name) > MAX_NAME:
        raise FormError(f"A team name is at most {MAX_NAME} characters.", here)
    team = await ctx.admin("POST", "/teams", project_id, json_body={"display_name": name})
    return ctx.redirect(f"{here}/{team['id']}", "Team created.")


@page
async def team_detail(ctx: Ctx) -> Response:
    project_id, team_id, _ = _team_path(ctx)
    project, team, members = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"/teams/{team_id}", project_id),
        ctx.admin("GET", "/team-member-profiles", project_id, params={"team_id": team_id}),
    )
    return ctx.render(
        "team.html", project=project, team=team, members=members["items"], section="teams"
    )


def _team_path(ctx: Ctx) -> tuple[str, str, str]:
    return ctx.item_path("teams", "team")


@page
async def add_member(ctx: Ctx) -> Response:
    project_id, team_id, here = _team_path(ctx)
    user_id = ctx.form.get("user_id").strip().lower()
    if not _UUID.match(user_id):
        raise FormError("Enter a user id (a UUID, shown on the user's page).", here)
    await ctx.admin("POST", f"/team-memberships/{team_id}/{user_id}", project_id, json_body={})
    return ctx.redirect(here, "Member added.")


@page
async def remove_member(ctx: Ctx) -> Response:
    project_id, team_id, here = _team_path(ctx)
    user_id = uuid_param(ctx.request, "user_id", "user")
    await ctx.admin("DELETE", f"/team-memberships/{team_id}/{user_id}", project_id)
    return ctx.redirect(here, "Member removed.")


routes = [
    *page_routes("/projects/{project_id}/teams", list_teams, {"/create": create_team}),
    *page_routes(
        "/projects/{project_id}/teams/{team_id}",
        team_detail,
        {"/members/add": add_member, "/members/{user_id}/remove": remove_member},
    ),
]
