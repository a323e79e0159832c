"""``POST /internal/failed-emails-digest``: the cron's daily digest of failed mail to each
project's admins (``Authorization: Bearer $CRON_SECRET``)."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import HttpRequest, check_cron_secret
from authstack_api.ids import parse_bool
from authstack_api.responses import json_response
from authstack_core.domain import failed_emails_digest
from authstack_core.domain.context import Deps


@post("/api/v1/internal/failed-emails-digest", status_code=200)
async def failed_emails_digest_step(
    deps: Deps, request: HttpRequest, dry_run: str | None = None
) -> Response[bytes]:
    """Email each project's admins the failures since its last digest, at most once per project
    and day (a second call sends nothing new). ``dry_run=true`` reports without sending."""
    check_cron_secret(deps, request)
    digests = await failed_emails_digest.send_digests(deps, dry_run=parse_bool(dry_run, "dry_run"))
    return json_response({"success": True, "failed_emails_by_tenancy": [d.json() for d in digests]})
