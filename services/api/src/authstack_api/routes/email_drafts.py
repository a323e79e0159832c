"""Admin: the project's email drafts (``/internal/email-drafts``), as upstream's; a draft's
``tsx_source`` is a sandboxed Jinja2 template here, and ``subject`` (ours) its subject's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Response, delete, get, patch, post
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import AdminAuth
from authstack_api.email_schemas import (
    Name,
    Source,
    ThemeId,
    Variables,
    checked_variables,
    theme_choice,
)
from authstack_api.ids import check_uuid
from authstack_api.responses import json_response
from authstack_api.schemas import Strict
from authstack_core.domain import email_drafts
from authstack_core.domain.context import Deps

DRAFTS = "/api/v1/internal/email-drafts"
DRAFT = DRAFTS + "/{draft_id:str}"
Subject = Annotated[str, Meta(max_length=1000)]
OK = {"ok": "ok"}


class CreateDraftBody(Strict):
    display_name: Name
    theme_id: ThemeId | UnsetType = UNSET
    tsx_source: Source | None = None
    subject: Subject | None = None
    template_variables: Variables | None = None


class UpdateDraftBody(Strict):
    display_name: Name | UnsetType = UNSET
    theme_id: ThemeId | UnsetType = UNSET
    tsx_source: Source | UnsetType = UNSET
    subject: Subject | UnsetType = UNSET
    template_variables: Variables | UnsetType = UNSET
    sent_at_millis: Annotated[int, Meta(ge=0, le=253_402_300_799_999)] | None | UnsetType = UNSET


def _draft_id(value: str) -> uuid.UUID:
    return uuid.UUID(check_uuid(value, "id"))


@get(DRAFTS)
async def list_drafts(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    """``{drafts: [...]}``, the most recently edited first."""
    rows = await email_drafts.list_drafts(deps, auth.project)
    return json_response({"drafts": [row.json() for row in rows]})


@post(DRAFTS, status_code=200)
async def create_draft(auth: AdminAuth, deps: Deps, data: CreateDraftBody) -> Response[bytes]:
    """A new draft, saved as written; answers ``{id}``."""
    theme = theme_choice(data.theme_id)
    draft_id = await email_drafts.create_draft(
        deps,
        auth.project,
        display_name=data.display_name,
        subject=data.subject,
        source=data.tsx_source,
        theme=None if isinstance(theme, UnsetType) else theme,
        template_variables=checked_variables(data.template_variables, "template_variables"),
    )
    return json_response({"id": str(draft_id)})


@get(DRAFT)
async def get_draft(auth: AdminAuth, deps: Deps, draft_id: str) -> Response[bytes]:
    row = await email_drafts.get_draft(deps, auth.project, _draft_id(draft_id))
    return json_response(row.json())


@patch(DRAFT)
async def update_draft(
    auth: AdminAuth, deps: Deps, draft_id: str, data: UpdateDraftBody
) -> Response[bytes]:
    """Change what is sent; answers upstream's ``{ok: "ok"}``."""
    sent_at: datetime | None | UnsetType = UNSET
    if not isinstance(data.sent_at_millis, UnsetType):
        millis = data.sent_at_millis
        sent_at = None if millis is None else datetime.fromtimestamp(millis / 1000, tz=UTC)
    if isinstance(data.template_variables, dict):
        checked_variables(data.template_variables, "template_variables")
    await email_drafts.update_draft(
        deps,
        auth.project,
        _draft_id(draft_id),
        display_name=data.display_name,
        subject=data.subject,
        source=data.tsx_source,
        theme=theme_choice(data.theme_id),
        template_variables=data.template_variables,
        sent_at=sent_at,
    )
    return json_response(OK)


@delete(DRAFT, status_code=200)
async def delete_draft(auth: AdminAuth, deps: Deps, draft_id: str) -> Response[bytes]:
    await email_drafts.delete_draft(deps, auth.project, _draft_id(draft_id))
    return json_response(OK)
