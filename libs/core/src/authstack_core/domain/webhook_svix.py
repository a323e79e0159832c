"""The webhook admin API in Svix mode: the project's Svix application (uid = project id) keeps the
endpoints, secrets and attempts, so each call is answered from Svix in the built-in shapes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx
import pydantic
from svix.api import (
    AppPortalAccessIn,
    EndpointIn,
    EndpointPatch,
    EndpointSecretRotateIn,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageIn,
    MessageStatus,
)
from svix.exceptions import HttpError, HTTPValidationError

from authstack_core.errors import SvixUnavailable, WebhookEndpointNotFound, WebhookMessageNotFound
from authstack_core.models.projects import TenantProject
from authstack_core.models.webhooks import (
    TEST_EVENT_TYPE,
    AttemptRow,
    EndpointChanges,
    EndpointRow,
    test_payload,
)
from authstack_core.settings import Settings
from authstack_core.webhook_transport import SvixSender, svix_client

T = TypeVar("T")
_STATUS = {MessageStatus.SUCCESS: "succeeded", MessageStatus.FAIL: "failed"}
_TEST_CHECKS = (0.5, 1.0, 2.0)  # waits before looking for the test message's successful attempt


@functools.cache
def _sender(api_key: str, server_url: str | None) -> SvixSender:
    return SvixSender(svix_client(api_key, server_url))


def sender_for(settings: Settings) -> SvixSender | None:
    """The process's Svix client (with its known applications), or None in built-in mode."""
    if not settings.svix_api_key:
        return None
    return _sender(settings.svix_api_key, settings.svix_server_url)


async def _call(call: Awaitable[T], missing: type[Exception] = WebhookEndpointNotFound) -> T:
    """``call``'s answer; Svix's 404 as ``missing``, any other trouble as SvixUnavailable."""
    try:
        return await call
    except (HttpError, HTTPValidationError) as exc:
        if exc.status_code == 404:
            raise missing() from None
        raise SvixUnavailable(
            f"Svix answered {exc.status_code}: {getattr(exc, 'detail', exc)}"
        ) from None
    except (httpx.HTTPError, OSError) as exc:
        raise SvixUnavailable(f"Svix is unreachable: {type(exc).__name__}: {exc}") from None
    except (pydantic.ValidationError, ValueError) as exc:  # an answer not in Svix's shapes
        raise SvixUnavailable(f"Svix answered something unexpected: {exc}") from None


def _row(out: Any) -> EndpointRow:
    return EndpointRow(
        id=out.id,
        url=out.url,
        description=out.description,
        event_types=out.event_types or None,
        disabled=bool(out.disabled),
        created_at=out.created_at,
    )


class SvixAdmin:
    """The admin operations of ``webhook_endpoints`` against one project's Svix application."""

    def __init__(self, svix: SvixSender, settings: Settings) -> None:
        self.svix = svix
        self.client = svix.client
        self.self_hosted = settings.svix_server_url is not None

    async def _app(self, project: TenantProject) -> str:
        await _call(self.svix.ensure_app(project.id))
        return project.id

    async def portal_access(self, project: TenantProject) -> tuple[str, str | None]:
        app = await self._app(project)
        out = await _call(self.client.authentication.app_portal_access(app, AppPortalAccessIn()))
        # Svix's embedded portal exists only on its cloud (as upstream: no url when self-hosted).
        return out.token, None if self.self_hosted else out.url

    async def create(
        self, project: TenantProject, url: str, description: str, event_types: list[str] | None
    ) -> tuple[EndpointRow, str]:
        app = await self._app(project)
        body = EndpointIn(url=url, description=description, event_types=event_types)
        out = await _call(self.client.endpoint.create(app, body))
        secret = await _call(self.client.endpoint.get_secret(app, out.id))
        return _row(out), secret.key

    async def list_endpoints(self, project: TenantProject) -> list[EndpointRow]:
        app = await self._app(project)
        out = await _call(self.client.endpoint.list(app))
        return [_row(e) for e in out.data]

    async def get(self, project: TenantProject, endpoint: str) -> EndpointRow:
        app = await self._app(project)
        return _row(await _call(self.client.endpoint.get(app, endpoint)))

    async def update(
        self, project: TenantProject, endpoint: str, changes: EndpointChanges
    ) -> EndpointRow:
        app = await self._app(project)
        fields: dict[str, Any] = {
            "url": changes.url,
            "description": changes.description,
            "disabled": changes.disabled,
        }
        patch = EndpointPatch(**{k: v for k, v in fields.items() if v is not None})
        if changes.set_event_types:
            patch.event_types = changes.event_types
        return _row(await _call(self.client.endpoint.patch(app, endpoint, patch)))

    async def delete(self, project: TenantProject, endpoint: str) -> None:
        app = await self._app(project)
        await _call(self.client.endpoint.delete(app, endpoint))

    async def rotate_secret(self, project: TenantProject, endpoint: str) -> str:
        app = await self._app(project)
        await _call(self.client.endpoint.rotate_secret(app, endpoint, EndpointSecretRotateIn()))
        return (await _call(self.client.endpoint.get_secret(app, endpoint))).key

    async def attempts(self, project: TenantProject, endpoint: str, limit: int) -> list[AttemptRow]:
        app = await self._app(project)
        options = MessageAttemptListByEndpointOptions(limit=limit, with_msg=True)
        out = await _call(self.client.message_attempt.list_by_endpoint(app, endpoint, options))
        return [
            AttemptRow(
                message_id=a.msg_id,
                event_type=a.msg.event_type if a.msg is not None else "",
                status=_STATUS.get(a.status, "pending"),
                response_status_code=a.response_status_code or None,
                error=None if a.status == MessageStatus.SUCCESS else (a.response or None),
                attempted_at=a.timestamp,
            )
            for a in out.data
        ]

    async def retry(self, project: TenantProject, message: str) -> int:
        """Resend the message to every endpoint Svix tried it on."""
        app = await self._app(project)
        attempts = self.client.message_attempt
        tried = await _call(
            attempts.list_attempted_destinations(app, message), WebhookMessageNotFound
        )
        for destination in tried.data:
            await _call(attempts.resend(app, message, destination.id), WebhookMessageNotFound)
        return len(tried.data)

    async def send_test(self, project: TenantProject, endpoint: str) -> str | None:
        """Upstream's test: a ``stack.test`` message, then a look for its successful attempt."""
        app = await self._app(project)
        try:
            target = await _call(self.client.endpoint.get(app, endpoint))
        except (WebhookEndpointNotFound, SvixUnavailable):
            return "Endpoint not found. Make sure it still exists."
        payload = test_payload(target.url)
        try:
            sent = await _call(
                self.client.message.create(
                    app, MessageIn(event_type=TEST_EVENT_TYPE, payload=payload)
                )
            )
        except SvixUnavailable as exc:
            return exc.text
        options = MessageAttemptListByMsgOptions(status=MessageStatus.SUCCESS)
        for wait in _TEST_CHECKS:
            await asyncio.sleep(wait)
            found = await _call(self.client.message_attempt.list_by_msg(app, sent.id, options))
            if any(a.endpoint_id == target.id for a in found.data):
                return None
        return "Webhook not delivered. Make sure the endpoint is configured correctly."


def admin_for(settings: Settings) -> SvixAdmin | None:
    """The Svix-mode admin, or None in built-in mode."""
    svix = sender_for(settings)
    return SvixAdmin(svix, settings) if svix is not None else None
