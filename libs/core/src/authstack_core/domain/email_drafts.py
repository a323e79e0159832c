"""Email drafts of a project (``/internal/email-drafts``).

As upstream, a draft is saved as written (an editor saves work in progress); it is rendered, in
the sandbox, when it is previewed (``POST /emails/render-email``) or sent. Its theme choice is
checked: a theme id must name one of the project's themes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from msgspec import UNSET, UnsetType
from psycopg import AsyncConnection

from authstack_core.db.queries import email_drafts as q
from authstack_core.domain.context import Deps
from authstack_core.errors import EmailDraftLimitReached, EmailDraftNotFound, UnknownEmailTheme
from authstack_core.models.config import ProjectConfig, ThemeChoice
from authstack_core.models.email_drafts import (
    DEFAULT_DRAFT_SOURCE,
    DEFAULT_DRAFT_SUBJECT,
    DraftRow,
    theme_mode,
)
from authstack_core.models.projects import TenantProject

MAX_DRAFTS = 100  # per project; the listing shows them all


def _check_theme(config: ProjectConfig, choice: ThemeChoice) -> None:
    if isinstance(choice, str) and choice not in config.email_theme_ids:
        raise UnknownEmailTheme()


async def list_drafts(deps: Deps, project: TenantProject) -> list[DraftRow]:
    """The project's drafts, the most recently edited first."""
    async with deps.pool.connection() as conn:
        return await q.select_drafts(conn, project.tenancy_id, MAX_DRAFTS)


async def get_draft(deps: Deps, project: TenantProject, draft_id: uuid.UUID) -> DraftRow:
    """The draft; 404 (upstream's text) when the project has none such."""
    async with deps.pool.connection() as conn:
        row = await q.select_draft(conn, project.tenancy_id, draft_id)
    if row is None:
        raise EmailDraftNotFound()
    return row


async def create_draft(
    deps: Deps,
    project: TenantProject,
    *,
    display_name: str,
    subject: str | None,
    source: str | None,
    theme: ThemeChoice,
    template_variables: dict[str, Any] | None,
) -> uuid.UUID:
    """A new draft (a greeting in the project's theme unless a source is given); its id. 400
    for an unknown theme id, and past MAX_DRAFTS drafts."""
    _check_theme(project.config, theme)
    mode, theme_id = theme_mode(theme)
    now = datetime.now(UTC)
    row = DraftRow(
        id=uuid.uuid4(),
        display_name=display_name,
        subject=DEFAULT_DRAFT_SUBJECT if subject is None else subject,
        source=DEFAULT_DRAFT_SOURCE if source is None else source,
        theme_mode=mode,
        theme_id=theme_id,
        template_variables=template_variables or {},
        sent_at=None,
        created_at=now,
        updated_at=now,
    )
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.insert_draft(conn, project.tenancy_id, row, limit=MAX_DRAFTS):
            raise EmailDraftLimitReached(MAX_DRAFTS)
    return row.id


async def update_draft(
    deps: Deps,
    project: TenantProject,
    draft_id: uuid.UUID,
    *,
    display_name: str | UnsetType = UNSET,
    subject: str | UnsetType = UNSET,
    source: str | UnsetType = UNSET,
    theme: ThemeChoice | UnsetType = UNSET,
    template_variables: dict[str, Any] | UnsetType = UNSET,
    sent_at: datetime | None | UnsetType = UNSET,
) -> None:
    """Change what is given (UNSET keeps it); 404 for a draft the project has not."""
    if not isinstance(theme, UnsetType):
        _check_theme(project.config, theme)
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.select_draft(conn, project.tenancy_id, draft_id, lock=True)
        if row is None:
            raise EmailDraftNotFound()
        if not isinstance(display_name, UnsetType):
            row.display_name = display_name
        if not isinstance(subject, UnsetType):
            row.subject = subject
        if not isinstance(source, UnsetType):
            row.source = source
        if not isinstance(theme, UnsetType):
            row.theme_mode, row.theme_id = theme_mode(theme)
        if not isinstance(template_variables, UnsetType):
            row.template_variables = template_variables
        if not isinstance(sent_at, UnsetType):
            row.sent_at = sent_at
        await q.update_draft(conn, project.tenancy_id, row)


async def delete_draft(deps: Deps, project: TenantProject, draft_id: uuid.UUID) -> None:
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.delete_draft(conn, project.tenancy_id, draft_id):
            raise EmailDraftNotFound()


async def mark_sent(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, draft_id: uuid.UUID) -> None:
    """Record that the draft was sent (``sent_at``), in the caller's transaction; for
    ``POST /emails/send-email`` with a ``draft_id``."""
    await q.mark_sent(conn, tenancy_id, draft_id)
