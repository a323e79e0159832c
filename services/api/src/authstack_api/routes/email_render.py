"""``POST /emails/render-email``: preview an email in a theme; nothing is sent or queued."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Response, post
from msgspec import UNSET, Meta, UnsetType

from authstack_api import limits
from authstack_api.auth import AdminAuth, HttpRequest
from authstack_api.email_schemas import (
    Source,
    ThemeId,
    ThemeSource,
    Variables,
    checked_variables,
    theme_choice,
)
from authstack_api.ids import check_uuid
from authstack_api.responses import json_response
from authstack_api.schemas import Strict
from authstack_core.domain import email_render
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import TemplateSource
from authstack_core.errors import SchemaError


class RenderEmailBody(Strict):
    """Upstream's body (one content, at most one theme), with the TSX fields carrying Jinja2;
    ``draft_id``, ``subject``, ``text`` and ``variables`` are ours."""

    template_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    template_tsx_source: Source | None = None
    draft_content: Source | None = None
    draft_id: str | None = None
    theme_id: ThemeId | UnsetType = UNSET
    theme_tsx_source: ThemeSource | None = None
    subject: Source | None = None  # the subject's source, with a source or draft_content
    text: Source | None = None  # the plain-text part's source (else derived from the HTML)
    variables: Variables | None = None


@post("/api/v1/emails/render-email", status_code=200)
async def render_email(
    auth: AdminAuth, deps: Deps, request: HttpRequest, data: RenderEmailBody
) -> Response[bytes]:
    """``{html, text, subject, notification_category}`` of a template (by id), a draft (by id
    or its content) or a source, in a theme (by id, by source, none, or the project's), with
    sample variables under the given ones: the sandbox and budget of a real send."""
    contents = (data.template_id, data.template_tsx_source, data.draft_content, data.draft_id)
    if sum(c is not None for c in contents) != 1:
        raise SchemaError(
            message="send exactly one of template_id, template_tsx_source, draft_content "
            "or draft_id"
        )
    if not isinstance(data.theme_id, UnsetType) and data.theme_tsx_source is not None:
        raise SchemaError(message="send at most one of theme_id or theme_tsx_source")
    html = data.template_tsx_source if data.template_tsx_source is not None else data.draft_content
    if html is None and (data.subject is not None or data.text is not None):
        raise SchemaError(message="subject and text go with template_tsx_source or draft_content")
    draft_id = None
    if data.draft_id is not None:
        draft_id = uuid.UUID(check_uuid(data.draft_id, "draft_id"))
    variables = checked_variables(data.variables, "variables") or {}
    await limits.limit(request, "email_render", project_id=auth.project.id)
    rendered = await email_render.preview_email(
        deps,
        auth.project,
        template_id=data.template_id,
        draft_id=draft_id,
        source=None if html is None else TemplateSource(data.subject or "", html, data.text),
        theme_id=theme_choice(data.theme_id),
        theme_source=data.theme_tsx_source,
        variables=variables,
    )
    body = {"html": rendered.html, "text": rendered.text, "subject": rendered.subject}
    if rendered.notification_category is not None:
        body["notification_category"] = rendered.notification_category
    return json_response(body)
