"""A user's session replay, played in the browser by rrweb's player (vendored, see
scripts/vendor_rrweb_player.py)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, gather, page, uuid_param


@page
async def player(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    replay_id = uuid_param(ctx.request, "replay_id", "session replay")
    project, replay = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"/internal/session-replays/{replay_id}/events", project_id),
    )
    events = [event for chunk in replay["chunk_events"] for event in chunk["events"]]
    events.sort(key=lambda e: e.get("timestamp", 0) if isinstance(e, dict) else 0)
    return ctx.render(
        "replay.html",
        project=project,
        replay_id=replay_id,
        events=events,
        section="users",
    )


routes = [
    Route("/projects/{project_id}/replays/{replay_id}", player, methods=["GET"]),
]
