"""A project's email sending capacity: ``GET /emails/delivery-info`` and
``POST /emails/capacity-boost``."""

from __future__ import annotations

from litestar import Response, get, post

from authstack_api.auth import ServerAuth
from authstack_api.responses import json_response
from authstack_core.domain import email_capacity
from authstack_core.domain.context import Deps


@get("/api/v1/emails/delivery-info")
async def delivery_info(auth: ServerAuth, deps: Deps) -> Response[bytes]:
    """Mail sent in the last hour, day, week and month, and the sending capacity in force
    (``rate_per_second``; ``bounced`` and ``marked_as_spam`` stay 0: plain SMTP reports none)."""
    return json_response(await email_capacity.delivery_info(deps, auth.project))


@post("/api/v1/emails/capacity-boost", status_code=200)
async def capacity_boost(auth: ServerAuth, deps: Deps) -> Response[bytes]:
    """Quadruple the project's sending capacity for 4 hours; EMAIL_CAPACITY_BOOST_ALREADY_ACTIVE
    (409) while a boost runs."""
    expires_at = await email_capacity.start_boost(deps, auth.project)
    return json_response({"expires_at": expires_at})
