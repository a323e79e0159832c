"""The outboxes' cron step (emails, webhooks): ``GET /api/latest/internal/email-queue-step``."""

from __future__ import annotations

from litestar import Response, get

from authstack_api.auth import HttpRequest, check_cron_secret
from authstack_api.responses import json_response
from authstack_core.domain import cli_auth, email_queue, images, webhook_delivery
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError


@get("/api/v1/internal/email-queue-step")
async def email_queue_step(
    deps: Deps, request: HttpRequest, only_one_step: str | None = None
) -> Response[bytes]:
    """Re-enqueue outbox rows whose wake-up was lost and rows stuck past their sending lease,
    and wake the worker for projects whose webhook deliveries are overdue; delete stored images
    that no row took within an hour (``images.sweep_orphans``; storage being down only delays it),
    and CLI sign-in attempts that expired an hour ago or more (``cli_auth.purge_expired``).

    One bounded pass per call (a cron calls it every minute). 503 if Redis does not answer;
    nothing is lost then, and the next call tries again. ``only_one_step``, which upstream's cron
    sends, is accepted and changes nothing: every call is one step.
    """
    check_cron_secret(deps, request)
    try:
        await email_queue.queue_step(deps)
        await webhook_delivery.queue_step(deps)
        await images.sweep_orphans(deps)
        await cli_auth.purge_expired(deps)
    except email_queue.QueueUnavailableError:
        raise StatusError(
            503, "Redis did not accept the wake-ups; nothing was lost, call again later."
        ) from None
    return json_response({"ok": True})
