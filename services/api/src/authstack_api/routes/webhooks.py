"""Admin: webhook endpoints, their attempts, replaying a message, test events, the Svix portal."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import AdminAuth
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import Strict
from authstack_core.domain import webhook_endpoints as endpoints
from authstack_core.domain.context import Deps
from authstack_core.domain.webhooks import EVENT_TYPES
from authstack_core.errors import SchemaError

Url = Annotated[str, Meta(min_length=1, max_length=2000)]
Description = Annotated[str, Meta(max_length=500)]
EventTypes = Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=50)]
ENDPOINTS = "/api/v1/internal/webhooks/endpoints"
ENDPOINT = ENDPOINTS + "/{endpoint_id:str}"


class CreateEndpointBody(Strict):
    url: Url
    description: Description | None = None
    event_types: EventTypes | None = None


class UpdateEndpointBody(Strict):
    url: Url | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    event_types: EventTypes | None | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


class SendTestBody(Strict):
    endpoint_id: Annotated[str, Meta(max_length=100)]


def _event_types(value: list[str] | None) -> list[str] | None:
    """The filter as stored: None for every type; known types only, each once."""
    if value is None:
        return None
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise SchemaError(
            message=f"event_types: unknown {', '.join(unknown)} (known: {', '.join(EVENT_TYPES)})"
        )
    return list(dict.fromkeys(value))


@post(ENDPOINTS, status_code=201)
async def create_endpoint(auth: AdminAuth, deps: Deps, data: CreateEndpointBody) -> Response[bytes]:
    """A new endpoint; its signing secret (``whsec_...``) is in this answer only."""
    row, secret = await endpoints.create_endpoint(
        deps,
        auth.project,
        url=data.url,
        description=data.description or "",
        event_types=_event_types(data.event_types),
    )
    return json_response(row.json(secret), status=201)


@get(ENDPOINTS)
async def list_endpoints(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    rows = await endpoints.list_endpoints(deps, auth.project)
    return json_response({"items": [r.json() for r in rows]})


@get(ENDPOINT)
async def get_endpoint(auth: AdminAuth, deps: Deps, endpoint_id: str) -> Response[bytes]:
    row = await endpoints.get_endpoint(deps, auth.project, endpoint_id)
    return json_response(row.json())


@patch(ENDPOINT)
async def update_endpoint(
    auth: AdminAuth, deps: Deps, endpoint_id: str, data: UpdateEndpointBody
) -> Response[bytes]:
    """Change the URL, description, event filter, or disable it (what it still had to receive
    then fails, and can be replayed)."""
    given = not isinstance(data.event_types, UnsetType)
    changes = endpoints.EndpointChanges(
        url=None if isinstance(data.url, UnsetType) else data.url,
        description=None if isinstance(data.description, UnsetType) else data.description,
        set_event_types=given,
        event_types=_event_types(data.event_types) if given else None,  # type: ignore[arg-type]
        disabled=None if isinstance(data.disabled, UnsetType) else data.disabled,
    )
    row = await endpoints.update_endpoint(deps, auth.project, endpoint_id, changes)
    return json_response(row.json())


@delete(ENDPOINT, status_code=200)
async def delete_endpoint(auth: AdminAuth, deps: Deps, endpoint_id: str) -> Response[bytes]:
    await endpoints.delete_endpoint(deps, auth.project, endpoint_id)
    return json_response(SUCCESS)


@post(ENDPOINT + "/rotate-secret", status_code=200)
async def rotate_secret(auth: AdminAuth, deps: Deps, endpoint_id: str) -> Response[bytes]:
    """A new signing secret, in this answer only; the old one stops working at once."""
    secret = await endpoints.rotate_secret(deps, auth.project, endpoint_id)
    return json_response({"secret": secret})


@get(ENDPOINT + "/attempts")
async def list_attempts(auth: AdminAuth, deps: Deps, endpoint_id: str) -> Response[bytes]:
    """The endpoint's latest attempts, newest first."""
    rows = await endpoints.list_attempts(deps, auth.project, endpoint_id)
    return json_response({"items": [r.json() for r in rows]})


@post("/api/v1/internal/webhooks/messages/{message_id:str}/retry", status_code=200)
async def retry_message(auth: AdminAuth, deps: Deps, message_id: str) -> Response[bytes]:
    """Send a finished message again to each endpoint it went to, with a fresh schedule."""
    count = await endpoints.retry_message(deps, auth.project, message_id)
    return json_response({"success": True, "requeued": count})


@post("/api/v1/internal/send-test-webhook", status_code=200)
async def send_test_webhook(auth: AdminAuth, deps: Deps, data: SendTestBody) -> Response[bytes]:
    """POST a signed ``stack.test`` event to the endpoint now and say whether it was taken."""
    error = await endpoints.send_test(deps, auth.project, data.endpoint_id)
    body: dict[str, object] = {"success": error is None}
    if error is not None:
        body["error_message"] = error
    return json_response(body)


@post("/api/v1/webhooks/svix-token", status_code=201)
async def svix_token(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    """A token for Svix's app portal (Svix mode). Built in, there is no portal: the token is
    empty, as upstream answers when it runs without Svix; use the endpoints above instead."""
    token, url = await endpoints.portal_access(deps, auth.project)
    body: dict[str, object] = {"token": token}
    if url is not None:
        body["url"] = url
    return json_response(body, status=201)
