"""A project's audit log: who did what to whom, newest first, from ``GET /internal/audit-log``,
filtered by action and by user (the target), paged towards older entries."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.client import token_claims
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, gather, page

PAGE_SIZE = 50
MAX_CURSOR = 512
ACTION = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The actions the API writes, as the filter offers them.
ACTIONS = {
    "session.impersonation_started": "Impersonation started",
    "user.deleted": "User deleted",
    "user.restricted": "User restricted",
    "user.unrestricted": "User unrestricted",
    "project.updated": "Project updated",
    "project.config_updated": "Config updated",
    "key_set.created": "Key set created",
    "key_set.revoked": "Key set revoked",
}
ACTOR_KINDS = {
    "admin_user": "Admin",
    "admin_key": "Admin key",
    "server_key": "Server key",
    "client_user": "User",
}


@dataclass(frozen=True)
class Entry:
    """One audit log entry as the page shows it."""

    action: str
    action_label: str
    when: str  # "2025-01-31 14:05:09 UTC"
    when_iso: str
    actor: str
    actor_user_path: str | None  # the acting user's page, when that user is of this project
    actor_ip: str | None
    actor_user_agent: str | None
    target: str
    target_path: str | None
    details: list[tuple[str, str]]


def _time(millis: Any) -> tuple[str, str]:
    if not isinstance(millis, int | float):
        return "—", ""
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC"), moment.isoformat()


def _detail_label(key: str) -> str:
    """``expires_at_millis`` -> "expires at" (the value is shown as a time)."""
    return key.removesuffix("_millis").replace("_", " ")


def _detail_text(key: str, value: Any) -> str:
    if key.endswith("_millis") and isinstance(value, int | float):
        return _time(value)[0]
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _user_path(project_id: str, user_id: Any) -> str | None:
    if isinstance(user_id, str) and UUID.match(user_id):
        return f"/projects/{project_id}/users/{user_id}"
    return None


def entry_view(
    item: dict[str, Any], project_id: str, me: str | None, my_email: str | None
) -> Entry:
    """An API item as the page shows it; ``me`` is the signed-in admin's user id."""
    actor = item.get("actor") or {}
    target = item.get("target") or {}
    kind = str(actor.get("type") or "unknown")
    actor_text = ACTOR_KINDS.get(kind, kind)
    actor_id = actor.get("user_id")
    actor_path = None
    if actor_id and kind == "admin_user":
        actor_text += f" {my_email or actor_id} (you)" if actor_id == me else f" {actor_id}"
    elif actor_id:
        actor_text += f" {actor_id}"
        actor_path = _user_path(project_id, actor_id) if kind == "client_user" else None
    target_type = str(target.get("type") or "")
    target_id = target.get("id")
    target_text = target_type.replace("_", " ") + (f" {target_id}" if target_id else "")
    given = item.get("details")
    details = {str(k): v for k, v in given.items()} if isinstance(given, dict) else {}
    when, when_iso = _time(item.get("created_at_millis"))
    action = str(item.get("action") or "")
    return Entry(
        action=action,
        action_label=ACTIONS.get(action, action),
        when=when,
        when_iso=when_iso,
        actor=actor_text,
        actor_user_path=actor_path,
        actor_ip=actor.get("ip"),
        actor_user_agent=actor.get("user_agent"),
        target=target_text.strip() or "—",
        target_path=_user_path(project_id, target_id) if target_type == "user" else None,
        details=[(_detail_label(k), _detail_text(k, v)) for k, v in sorted(details.items())],
    )


def _filters(ctx: Ctx) -> tuple[dict[str, str], str | None]:
    """The page's filters (action, user_id) as given, and what is wrong with them, if anything."""
    query = ctx.request.query_params
    filters = {
        name: query.get(name, "").strip().lower()
        for name in ("action", "user_id")
        if query.get(name, "").strip()
    }
    action = filters.get("action")
    if action is not None and (len(action) > 100 or not ACTION.match(action)):
        return filters, "An action is a dotted name such as session.impersonation_started."
    if "user_id" in filters and not UUID.match(filters["user_id"]):
        return filters, "A user id is a UUID, such as the one shown on a user's page."
    return filters, None


@page
async def audit_log(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    base = f"/projects/{project_id}/audit-log"
    filters, problem = _filters(ctx)
    cursor = ctx.request.query_params.get("cursor", "").strip()[:MAX_CURSOR]
    params = {"limit": str(PAGE_SIZE)}
    if "action" in filters:
        params["action"] = filters["action"]
    if "user_id" in filters:
        params["target_user_id"] = filters["user_id"]
    if cursor:
        params["cursor"] = cursor
    if problem is None:
        project, answer = await gather(
            load_project(ctx, project_id),
            ctx.admin("GET", "/internal/audit-log", project_id, params=params),
        )
    else:
        project, answer = await load_project(ctx, project_id), {"items": []}
    claims = token_claims(ctx.session.access_token)
    me = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    entries = [entry_view(item, project_id, me, ctx.email) for item in answer["items"]]
    next_cursor = (answer.get("pagination") or {}).get("next_cursor")
    older = f"{base}?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    actions = dict(ACTIONS)
    if filters.get("action") and filters["action"] not in actions:
        actions[filters["action"]] = filters["action"]
    return ctx.render(
        "audit_log.html",
        project=project,
        entries=entries,
        filters=filters,
        problem=problem,
        actions=actions,
        older_url=older,
        newest_url=(f"{base}?{urlencode(filters)}" if filters else base) if cursor else None,
        filtered=bool(filters),
        section="audit-log",
    )


routes = [Route("/projects/{project_id}/audit-log", audit_log, methods=["GET"])]
