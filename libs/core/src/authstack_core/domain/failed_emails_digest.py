"""``POST /internal/failed-emails-digest`` (the cron's): tell each project's admins which of its
emails failed since the last digest.

Per tenancy and in one transaction under its state row's lock: read the failures since the
watermark, queue one digest per admin (members of the project's owner team, at their primary
address) in the internal project's outbox, and move the watermark. A second call the same (UTC)
day, or a concurrent one, finds the digest done and queues nothing: at most one per project and
day, and every failure reported once. The digests are ordinary outbox rows (high priority), so
they are retried like any mail.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import structlog

from authstack_core.db.queries import failed_emails_digest as q
from authstack_core.domain.context import Deps
from authstack_core.domain.email_capacity import capacity
from authstack_core.domain.email_outbox import enqueue_emails, queue_email
from authstack_core.models.emails import CUSTOM_HTML
from authstack_core.settings import Settings

log = structlog.get_logger(__name__)

LISTED = 10  # failures named in the mail (the most recent); the count covers all
REPORTED = 100  # failures named in the cron's answer, per project
MAX_TENANCIES = 500  # per call; the rest are picked up by the next one


@dataclass(slots=True)
class Digest:
    tenancy_id: uuid.UUID
    project_id: str
    admin_emails: list[str]
    failed_count: int
    emails: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        """Upstream's entry (``tenant_owner_email``: the first admin), then all admins."""
        return {
            "emails": self.emails,
            "tenant_owner_email": self.admin_emails[0],
            "tenant_owner_emails": self.admin_emails,
            "project_id": self.project_id,
            "tenancy_id": str(self.tenancy_id),
            "failed_count": self.failed_count,
        }


def _to(failed: q.FailedEmail) -> list[str]:
    address = failed.recipient or failed.to_email
    return [address] if address else [f"User ID: {failed.to_user_id}"]


def _mail(
    settings: Settings, scope: q.DigestScope, count: int, failures: list[q.FailedEmail]
) -> str:
    name = html.escape(scope.project_display_name)
    link = (
        f"{settings.dashboard_url.rstrip('/')}/projects/{quote(scope.project_id, safe='')}/emails"
    )
    items = "".join(
        '<li style="margin:0 0 8px;">'
        f"<strong>{html.escape(' '.join((f.subject or '(no subject)').split())[:120])}</strong>"
        f" to {html.escape(', '.join(_to(f)))}<br>"
        f'<span style="color:#666;">{html.escape((f.error or "unknown error")[:300])}</span></li>'
        for f in failures[:LISTED]
    )
    more = f'<p style="margin:0;">…and {count - LISTED} more.</p>' if count > LISTED else ""
    plural = "email" if count == 1 else "emails"
    return (
        f'<p style="margin:0 0 12px;">{count} {plural} of your project <strong>{name}</strong> '
        "could not be delivered since the last digest. Please check the project's email server "
        f'settings.</p><ul style="padding-left:18px;">{items}</ul>{more}'
        f'<p style="margin:12px 0 0;"><a href="{html.escape(link)}">See the project\'s emails '
        "in the dashboard</a></p>"
    )


async def _digest_one(
    deps: Deps, tenancy_id: uuid.UUID, internal: uuid.UUID, *, dry_run: bool
) -> tuple[Digest | None, list[uuid.UUID]]:
    settings = deps.settings
    initial = capacity(settings, month_sent=0, boost_active=False).burst
    queued: list[uuid.UUID] = []
    async with deps.pool.connection() as conn, conn.transaction():
        scope = await q.lock_scope(conn, tenancy_id, initial_tokens=initial)
        if not scope.due or scope.owner_team_id is None:
            return None, []
        count, through, failures = await q.select_failures(
            conn, tenancy_id, scope.since, limit=REPORTED
        )
        admins = await q.select_admin_emails(conn, scope.owner_team_id)
        if count == 0 or through is None or not admins:
            return None, []
        digest = Digest(
            tenancy_id,
            scope.project_id,
            admins,
            count,
            [{"subject": f.subject or "(No Subject)", "to": _to(f)} for f in failures],
        )
        if dry_run:
            return digest, []
        body = _mail(settings, scope, count, failures)
        subject = f"Failed emails digest: {scope.project_display_name}"
        for admin in admins:
            queued.append(
                await queue_email(
                    conn,
                    deps,
                    tenancy_id=internal,
                    template=CUSTOM_HTML,
                    to_email=admin,
                    subject=subject,
                    html=body,
                    is_high_priority=True,
                )
            )
        await q.mark_sent(conn, tenancy_id, through)
    return digest, queued


async def send_digests(deps: Deps, *, dry_run: bool = False) -> list[Digest]:
    """Queue the due digests (``dry_run``: only say what they would report); what was reported."""
    async with deps.pool.connection() as conn:
        internal = await q.select_internal_tenancy(conn)
        candidates = await q.select_candidates(conn, limit=MAX_TENANCIES)
    if internal is None:
        return []
    digests: list[Digest] = []
    for tenancy_id in candidates:
        digest, queued = await _digest_one(deps, tenancy_id, internal, dry_run=dry_run)
        if digest is not None:
            digests.append(digest)
        await enqueue_emails(deps, queued)
    if digests and not dry_run:
        log.info("failed-emails digests queued", projects=len(digests))
    return digests
