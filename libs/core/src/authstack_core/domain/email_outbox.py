"""The email outbox: how any area queues an email, and the wake-up sent to the worker after commit.

How another area sends an email (e.g. a team invitation)::

    async with deps.pool.connection() as conn, conn.transaction():
        ...  # the action itself
        outbox_id = await email_outbox.queue_email(
            conn, deps, tenancy_id=tenancy_id, template="team_invitation",
            to_email=email, variables={"teamDisplayName": team.display_name,
                                       "teamInvitationLink": link},
        )
    await email_outbox.enqueue_emails(deps, [outbox_id])  # after commit, never in the transaction

The row is the durable record: if the wake-up cannot be sent (Redis down) or is lost, the cron
step (``email_queue.queue_step``) sends it again, and the worker's claim makes a second wake-up
harmless.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from msgspec import UNSET, UnsetType
from psycopg import AsyncConnection

from authstack_core.crypto.sealing import Sealer, sealer_for
from authstack_core.db.queries import email_outbox as q
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import TemplateSource
from authstack_core.jobs import SEND_EMAIL, EnqueueError
from authstack_core.models.config import ThemeChoice
from authstack_core.models.emails import CUSTOM_HTML
from authstack_core.settings import Settings

log = structlog.get_logger(__name__)

_SEAL_PURPOSE = "email-outbox-content"
# dramatiq's Redis broker refuses delays of 7 days or more; later rows wait for the cron step.
_MAX_WAKEUP_DELAY = timedelta(days=6)


def _sealer(settings: Settings) -> Sealer:
    return sealer_for(settings.server_secret, _SEAL_PURPOSE)


def open_content(settings: Settings, outbox_id: uuid.UUID, sealed: bytes) -> dict[str, Any]:
    """A row's ``{"variables": ..., "html": ..., "theme_id"?: ..., "source"?: ...}``; SealError
    if it cannot be opened (for instance after STACK_SERVER_SECRET changed)."""
    content: dict[str, Any] = json.loads(_sealer(settings).open(sealed, outbox_id.bytes))
    return content


def seal_content(settings: Settings, outbox_id: uuid.UUID, content: Mapping[str, Any]) -> bytes:
    """``content`` (``{"variables": ..., "html": ...}``) sealed for the row ``outbox_id``."""
    return _sealer(settings).seal(json.dumps(dict(content)).encode("utf-8"), outbox_id.bytes)


def sealed_theme(content: dict[str, Any]) -> ThemeChoice | UnsetType:
    """The theme a row was queued with: a theme id, False (none), or UNSET (the project's
    selected theme when the email is rendered)."""
    theme = content.get("theme_id", UNSET)
    return theme if theme is False or isinstance(theme, str) else UNSET


async def queue_email(
    conn: AsyncConnection[Any],
    deps: Deps,
    *,
    tenancy_id: uuid.UUID,
    template: str,
    variables: Mapping[str, Any] | None = None,
    to_user_id: uuid.UUID | str | None = None,
    to_email: str | None = None,
    subject: str | None = None,
    html: str | None = None,
    is_high_priority: bool = True,
    scheduled_at: datetime | None = None,
    theme_id: ThemeChoice | UnsetType = UNSET,
    source: TemplateSource | None = None,
) -> uuid.UUID:
    """Write one outbox row inside the caller's transaction and return its id.

    ``template`` is a built-in type (``email_verification``, ``password_reset``, ``magic_link``,
    ``team_invitation``, ``sign_in_invitation``; their variables are in
    ``email_rendering.BUILTIN_TEMPLATES``), a project template id, or ``CUSTOM_HTML`` with
    ``html`` (placed in the theme as written, never parsed as a template) and ``subject``. The
    recipient is ``to_email`` if given, else the primary email of ``to_user_id`` when the email
    is sent; with both, the user's display name is used in the greeting. ``projectDisplayName``,
    ``userDisplayName`` and ``recipientEmail`` are filled in at sending time. Variables and HTML
    are stored sealed (links carry live codes).

    The email is rendered when it is sent, in ``theme_id`` (a theme id; False: none; None or
    unset: the project's selected theme at that time). ``source`` (a draft's) is rendered instead
    of the template ``template`` names, which then only labels the row.

    After the transaction commits, call ``enqueue_emails`` with the returned ids.
    """
    if to_user_id is None and to_email is None:
        raise ValueError("an email needs to_user_id or to_email")
    if template == CUSTOM_HTML and html is None:
        raise ValueError("a custom_html email needs html")
    outbox_id = uuid.uuid4()
    sealed: dict[str, Any] = {"variables": dict(variables or {}), "html": html}
    if theme_id is not None and not isinstance(theme_id, UnsetType):
        sealed["theme_id"] = theme_id
    if source is not None:
        sealed["source"] = {"subject": source.subject, "html": source.html, "text": source.text}
    content = json.dumps(sealed).encode("utf-8")
    delay = (scheduled_at - datetime.now(UTC)) if scheduled_at is not None else timedelta(0)
    await q.insert_outbox(
        conn,
        outbox_id=outbox_id,
        tenancy_id=tenancy_id,
        template=template,
        to_user_id=to_user_id,
        to_email=to_email,
        content_sealed=_sealer(deps.settings).seal(content, outbox_id.bytes),
        is_high_priority=is_high_priority,
        scheduled_at=scheduled_at,
        subject=subject,
        wakeup=delay < _MAX_WAKEUP_DELAY,
    )
    return outbox_id


async def enqueue_emails(
    deps: Deps, outbox_ids: Sequence[uuid.UUID], *, delay_seconds: float | None = None
) -> None:
    """Send the workers a wake-up per row. Call only after the rows' transaction committed.

    Never raises for Redis trouble: the rows are already safe, so a failure is logged, the rows
    are marked as having no wake-up in flight, and the next cron step enqueues them.
    """
    if not outbox_ids:
        return
    if delay_seconds is not None and delay_seconds >= _MAX_WAKEUP_DELAY.total_seconds():
        return
    try:
        taken = await deps.jobs.send(
            SEND_EMAIL, [(str(i),) for i in outbox_ids], delay_seconds=delay_seconds
        )
    except EnqueueError as exc:
        taken = 0
        log.warning("email wake-up not enqueued; the cron step will", error=str(exc))
    missed = list(outbox_ids[taken:])
    if missed:
        try:
            async with deps.pool.connection() as conn, conn.transaction():
                await q.clear_wakeup(conn, missed)
        except Exception:  # the rows' wake-up times then just look overdue a little later
            log.exception("could not mark email wake-ups as missing", count=len(missed))
