"""External database sync (contract §1.7, §7.2): the cron's sequencer and poller, the fusebox,
a project's sync status and a connection test (``/api/latest/internal/external-db-sync/...``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Response, get, post
from litestar.params import Parameter
from msgspec import UNSET, UnsetType

from authstack_api.auth import (
    Access,
    AdminAuth,
    HttpRequest,
    authenticate,
    check_cron_secret,
    cron_secret_given,
)
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_api.schemas import Strict
from authstack_core.domain import external_db_check, projects
from authstack_core.domain import external_db_sync as domain
from authstack_core.domain.context import Deps
from authstack_core.errors import ExpectedInternalProject, SchemaError, StatusError

MaxDurationMs = Annotated[int | None, Parameter(query="maxDurationMs", ge=0)]
_ADMIN = Access(("admin",))


async def _check_operator(deps: Deps, request: HttpRequest) -> None:
    """Admit the cron (``Bearer $CRON_SECRET``) or an admin of the internal project.

    Without Stack headers only the cron secret is looked at (401 otherwise); with them, the
    request must authenticate as admin of ``internal``: another project's admin is refused with
    EXPECTED_INTERNAL_PROJECT.
    """
    if cron_secret_given(deps, request):
        return
    if request.headers.get("x-stack-access-type") is None:
        check_cron_secret(deps, request)
    auth = await authenticate(request, _ADMIN)
    if auth is None or auth.project.id != projects.INTERNAL_PROJECT_ID:
        raise ExpectedInternalProject()


@get("/api/v1/internal/external-db-sync/sequencer")
async def sequencer(
    deps: Deps, request: HttpRequest, max_duration_ms: MaxDurationMs = None
) -> Response[bytes]:
    """Number committed changes and queue one sync request per tenancy with a target, for at
    most ``maxDurationMs`` (default and cap 60 s); ``iterations`` is 0 when the fusebox pauses
    the sequencer or another one is running."""
    await _check_operator(deps, request)
    iterations = await domain.run_sequencer(deps, max_duration_ms)
    return json_response({"ok": True, "iterations": iterations})


@get("/api/v1/internal/external-db-sync/poller")
async def poller(
    deps: Deps, request: HttpRequest, max_duration_ms: MaxDurationMs = None
) -> Response[bytes]:
    """Hand pending sync requests to the worker, one message per tenancy, then copy those
    tenancies to ClickHouse (when configured) in the time left. 503 if Redis does not take the
    messages (they stay pending for the next call); ClickHouse failing is recorded in the
    status, never answered with an error."""
    await _check_operator(deps, request)
    try:
        processed = await domain.run_poller(deps, max_duration_ms)
    except domain.QueueUnavailableError:
        raise StatusError(
            503, "Redis did not accept the sync requests; nothing was lost, call again later."
        ) from None
    return json_response({"ok": True, "requests_processed": processed})


@get("/api/v1/internal/external-db-sync/fusebox")
async def get_fusebox(deps: Deps, request: HttpRequest) -> Response[bytes]:
    await _check_operator(deps, request)
    return json_response(domain.fusebox_json(await domain.read_fusebox(deps)))


class FuseboxUpdate(Strict):
    sequencer_enabled: bool | UnsetType = UNSET
    poller_enabled: bool | UnsetType = UNSET


@post("/api/v1/internal/external-db-sync/fusebox", status_code=200)
async def set_fusebox(deps: Deps, request: HttpRequest) -> Response[bytes]:
    """Pause or resume the sequencer and/or the poller; a field left out is left as it is."""
    await _check_operator(deps, request)
    try:
        data = msgspec.json.decode(await request.body(), type=FuseboxUpdate)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SchemaError(message=f"body: {exc}") from None
    fusebox = await domain.set_fusebox(
        deps,
        sequencer_enabled=None if data.sequencer_enabled is UNSET else data.sequencer_enabled,
        poller_enabled=None if data.poller_enabled is UNSET else data.poller_enabled,
    )
    return json_response(domain.fusebox_json(fusebox))


@get("/api/v1/internal/external-db-sync/status")
async def sync_status(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    """Per target (each ``dbSync.externalDatabases`` entry, and ClickHouse when configured) and
    mapping: the last synced id, the lag and the changes not numbered yet (see
    ``domain.status``)."""
    return json_response(await domain.status(deps, auth.project, auth.branch_id))


class ConnectionTestBody(Strict):
    connection_string: str | UnsetType = UNSET
    id: str | UnsetType = UNSET  # an external database the config names already


@post("/api/v1/internal/external-db-sync/test-connection", status_code=200)
async def connection_test(auth: AdminAuth, deps: Deps, request: HttpRequest) -> Response[bytes]:
    """Whether the sync engine could fill a database: ``{ok: true}`` or ``{ok: false, error}``
    (the error never shows the password). Takes a ``connection_string``, or the ``id`` of an
    external database already configured (its stored string is used)."""
    try:
        data = msgspec.json.decode(await request.body(), type=ConnectionTestBody)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SchemaError(message=f"body: {exc}") from None
    if (data.connection_string is UNSET) == (data.id is UNSET):
        raise SchemaError(message="body: give either connection_string or id")
    await limit(request, "external_db_test", project_id=auth.project.id)
    if isinstance(data.id, str):
        check = await external_db_check.check_stored_connection(deps, auth.project, data.id)
    else:
        assert isinstance(data.connection_string, str)
        check = await external_db_check.check_connection(deps, data.connection_string)
    return json_response(check.json())
