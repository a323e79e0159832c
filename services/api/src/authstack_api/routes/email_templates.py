"""Admin: the project's email templates (built-in ones overridden, and its own)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import AdminAuth
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import Strict
from authstack_core.domain import email_templates
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import MAX_TEMPLATE_CHARS
from authstack_core.errors import SchemaError
from authstack_core.models.emails import TemplateChanges

Source = Annotated[str, Meta(max_length=MAX_TEMPLATE_CHARS)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class CreateTemplateBody(Strict):
    display_name: Name
    subject: Source
    html: Source
    text: Source | None = None


class UpdateTemplateBody(TemplateChanges, Strict):
    display_name: Name | UnsetType = UNSET
    subject: Source | UnsetType = UNSET
    html: Source | UnsetType = UNSET
    text: Source | None | UnsetType = UNSET


def _template_id(value: str) -> str:
    if not value or len(value) > 64 or not all(c.isalnum() or c in "_-" for c in value):
        raise SchemaError(message="templateId must be a template id")
    return value.lower()


@get("/api/v1/internal/email-templates")
async def list_templates(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    items = await email_templates.list_templates(deps, auth.project)
    return json_response({"items": items, "is_paginated": False})


@post("/api/v1/internal/email-templates", status_code=201)
async def create_template(auth: AdminAuth, deps: Deps, data: CreateTemplateBody) -> Response[bytes]:
    """A new template, checked in the sandbox before it is saved; use its id as template_id."""
    template = await email_templates.create_template(
        deps,
        auth.project,
        display_name=data.display_name,
        subject=data.subject,
        html=data.html,
        text=data.text,
    )
    return json_response(template, status=201)


@patch("/api/v1/internal/email-templates/{template_id:str}")
async def update_template(
    auth: AdminAuth, deps: Deps, template_id: str, data: UpdateTemplateBody
) -> Response[bytes]:
    """Override a built-in template (by type) or edit one of the project's own."""
    template = await email_templates.update_template(
        deps, auth.project, _template_id(template_id), data
    )
    return json_response(template)


@delete("/api/v1/internal/email-templates/{template_id:str}", status_code=200)
async def delete_template(auth: AdminAuth, deps: Deps, template_id: str) -> Response[bytes]:
    """Delete one of the project's templates, or reset a built-in one to its default."""
    await email_templates.delete_template(deps, auth.project, _template_id(template_id))
    return json_response(SUCCESS)
