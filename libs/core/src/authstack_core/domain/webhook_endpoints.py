"""A project's webhook endpoints (built-in mode): create (secret shown once), read, change,
delete, rotate the secret, list attempts, replay a message, send a test event.

Secrets are ``whsec_`` + base64 of 24 random bytes, as Svix makes them. The worker must sign
with them, so they are stored sealed (``crypto.sealing``, bound to the endpoint id), not hashed.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import uuid
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection

from authstack_core.crypto.sealing import Sealer, sealer_for
from authstack_core.db.queries import webhook_deliveries as dq
from authstack_core.db.queries import webhooks as q
from authstack_core.domain.context import Deps
from authstack_core.domain.webhooks import enqueue_deliveries
from authstack_core.errors import (
    WebhookEndpointNotFound,
    WebhookMessageNotFound,
    WebhookUrlRefused,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.webhooks import (
    AttemptRow,
    EndpointRow,
    EndpointTarget,
    event_id_of,
    message_id,
    test_payload,
)
from authstack_core.models.webhooks import EndpointChanges as EndpointChanges  # noqa: PLC0414 (the routes build it)
from authstack_core.outbound import OutboundAddressError, resolve_public
from authstack_core.settings import Settings
from authstack_core.webhook_transport import HttpSender, UrlRefusedError, body_of, check_url

if TYPE_CHECKING:
    from authstack_core.domain.webhook_svix import SvixAdmin


def admin_for(settings: Settings) -> SvixAdmin | None:
    """The Svix-mode admin, or None in built-in mode (the svix package, ~7 MB of a process, is
    imported only in Svix mode)."""
    if not settings.svix_api_key:
        return None
    from authstack_core.domain import webhook_svix  # noqa: PLC0415

    return webhook_svix.admin_for(settings)


_SEAL_PURPOSE = "webhook-endpoint-secret"
_RESOLVE_SECONDS = 3.0
ATTEMPTS_LISTED = 100


def _parse(endpoint: str) -> uuid.UUID:
    try:
        return uuid.UUID(endpoint)
    except ValueError:
        raise WebhookEndpointNotFound() from None


def _sealer(settings: Settings) -> Sealer:
    return sealer_for(settings.server_secret, _SEAL_PURPOSE)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def seal_secret(settings: Settings, endpoint_id: uuid.UUID, secret: str) -> bytes:
    return _sealer(settings).seal(secret.encode("ascii"), endpoint_id.bytes)


def open_secret(settings: Settings, endpoint_id: uuid.UUID, sealed: bytes) -> str:
    """The endpoint's secret; SealError if it cannot be opened (STACK_SERVER_SECRET changed)."""
    return _sealer(settings).open(sealed, endpoint_id.bytes).decode("ascii")


async def check_endpoint_url(settings: Settings, project: TenantProject, url: str) -> None:
    """Refuse (WebhookUrlRefused) a URL the worker would refuse: a scheme the project may not
    use, an internal address, or a name that resolves to one. A name that does not resolve now
    is accepted (it may later); it is checked again at every delivery."""
    allow_private = settings.webhooks_private_allowed
    try:
        _, host, port = check_url(
            url, allow_http=project.config.allow_localhost, allow_private=allow_private
        )
        if not allow_private:
            async with asyncio.timeout(_RESOLVE_SECONDS):
                await resolve_public(host, port, allow_private=False)
    except (UrlRefusedError, OutboundAddressError) as exc:
        private = (
            ""
            if allow_private
            else "; the operator may allow internal addresses: STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS"
        )
        raise WebhookUrlRefused(f"This webhook URL is not allowed: {exc}{private}") from None
    except (TimeoutError, socket.gaierror, UnicodeError):
        pass


async def create_endpoint(
    deps: Deps,
    project: TenantProject,
    *,
    url: str,
    description: str,
    event_types: list[str] | None,
) -> tuple[EndpointRow, str]:
    """The new endpoint and its secret (returned this once; kept sealed)."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.create(project, url, description, event_types)
    await check_endpoint_url(deps.settings, project, url)
    endpoint_id = uuid.uuid4()
    secret = new_secret()
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.insert_endpoint(
            conn,
            project.tenancy_id,
            endpoint_id,
            url=url,
            description=description,
            event_types=event_types,
            secret_sealed=seal_secret(deps.settings, endpoint_id, secret),
        )
    return row, secret


async def list_endpoints(deps: Deps, project: TenantProject) -> list[EndpointRow]:
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.list_endpoints(project)
    async with deps.pool.connection() as conn:
        return await q.select_endpoints(conn, project.tenancy_id)


async def _existing(
    conn: AsyncConnection[Any], project: TenantProject, endpoint_id: uuid.UUID
) -> EndpointRow:
    """Raise WebhookEndpointNotFound unless the project has it."""
    row = await q.select_endpoint(conn, project.tenancy_id, endpoint_id, EndpointRow)
    if row is None:
        raise WebhookEndpointNotFound()
    return row


async def get_endpoint(deps: Deps, project: TenantProject, endpoint: str) -> EndpointRow:
    """Raise WebhookEndpointNotFound unless the project has it."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.get(project, endpoint)
    endpoint_id = _parse(endpoint)
    async with deps.pool.connection() as conn:
        return await _existing(conn, project, endpoint_id)


async def update_endpoint(
    deps: Deps, project: TenantProject, endpoint: str, changes: EndpointChanges
) -> EndpointRow:
    """Apply the changes. Disabling fails what the endpoint still had to receive (replayable)."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.update(project, endpoint, changes)
    endpoint_id = _parse(endpoint)
    if changes.url is not None:
        await check_endpoint_url(deps.settings, project, changes.url)
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.update_endpoint(conn, project.tenancy_id, endpoint_id, changes)
        if row is None:
            raise WebhookEndpointNotFound()
        if row.disabled:
            await dq.fail_open(conn, project.tenancy_id, endpoint_id, "the endpoint is disabled")
    return row


async def delete_endpoint(deps: Deps, project: TenantProject, endpoint: str) -> None:
    if (svix := admin_for(deps.settings)) is not None:
        await svix.delete(project, endpoint)
        return
    endpoint_id = _parse(endpoint)
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.delete_endpoint(conn, project.tenancy_id, endpoint_id):
            raise WebhookEndpointNotFound()


async def rotate_secret(deps: Deps, project: TenantProject, endpoint: str) -> str:
    """A new secret, used for every request from now on; the old one stops at once."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.rotate_secret(project, endpoint)
    endpoint_id = _parse(endpoint)
    secret = new_secret()
    sealed = seal_secret(deps.settings, endpoint_id, secret)
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.set_secret(conn, project.tenancy_id, endpoint_id, sealed):
            raise WebhookEndpointNotFound()
    return secret


async def list_attempts(deps: Deps, project: TenantProject, endpoint: str) -> list[AttemptRow]:
    """The endpoint's latest attempts, newest first."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.attempts(project, endpoint, ATTEMPTS_LISTED)
    endpoint_id = _parse(endpoint)
    async with deps.pool.connection() as conn:
        await _existing(conn, project, endpoint_id)
        return await dq.select_attempts(conn, project.tenancy_id, endpoint_id, ATTEMPTS_LISTED)


async def retry_message(deps: Deps, project: TenantProject, message: str) -> int:
    """Send a finished message again to each endpoint it went to; how many deliveries that is."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.retry(project, message)
    event_id = event_id_of(message)
    if event_id is None:
        raise WebhookMessageNotFound()
    async with deps.pool.connection() as conn, conn.transaction():
        count = await dq.requeue(conn, project.tenancy_id, event_id)
    if count is None:
        raise WebhookMessageNotFound()
    if count:
        await enqueue_deliveries(deps, [project.tenancy_id])
    return count


async def send_test(deps: Deps, project: TenantProject, endpoint: str) -> str | None:
    """POST a signed ``stack.test`` event to the endpoint now; None when it answered 2xx, else
    what went wrong. Not recorded as an attempt."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.send_test(project, endpoint)
    try:
        endpoint_id = _parse(endpoint)
    except WebhookEndpointNotFound:
        return "Endpoint not found. Make sure it still exists."
    async with deps.pool.connection() as conn:
        target = await q.select_endpoint(conn, project.tenancy_id, endpoint_id, EndpointTarget)
    if target is None:
        return "Endpoint not found. Make sure it still exists."
    payload = test_payload(target.url)
    sender = HttpSender(
        target.url,
        open_secret(deps.settings, endpoint_id, target.secret_sealed),
        allow_http=project.config.allow_localhost,
        allow_private=deps.settings.webhooks_private_allowed,
    )
    try:
        outcome = await sender.send(message_id(uuid.uuid4()), body_of(payload))
    finally:
        await sender.aclose()
    return None if outcome.ok else outcome.error


async def portal_access(deps: Deps, project: TenantProject) -> tuple[str, str | None]:
    """(token, url) for Svix's app portal; built in there is none: ("", None), as upstream
    answers without Svix."""
    if (svix := admin_for(deps.settings)) is not None:
        return await svix.portal_access(project)
    return "", None
