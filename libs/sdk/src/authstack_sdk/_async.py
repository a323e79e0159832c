"""``AsyncStackServerApp``: the server API over an ``httpx.AsyncClient`` (asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar, Unpack

import httpx

from authstack_sdk._calls import (
    api_keys,
    contact_channels,
    emails,
    permissions,
    sessions,
    teams,
    users,
)
from authstack_sdk._calls.teams import TeamFilters
from authstack_sdk._calls.users import UserFilters
from authstack_sdk._core import DEFAULT_TIMEOUT, Call, Core, as_method
from authstack_sdk.models import Team, User
from authstack_sdk.pagination import Page, awalk

P = ParamSpec("P")
T = TypeVar("T")


def _async(
    operation: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncStackServerApp, P], Coroutine[Any, Any, T]]:
    """A coroutine method of the app that sends ``operation``'s call and returns its result."""

    async def method(self: AsyncStackServerApp, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._send(operation(*args, **kwargs))

    as_method(method, operation)
    return method


class AsyncStackServerApp:
    """The async twin of ``StackServerApp``: the same methods, each a coroutine, and
    ``async for`` over ``iter_users`` and ``iter_teams``.

    ``http_client`` is an ``httpx.AsyncClient`` of yours to send through, else the app makes
    its own (closed by ``aclose()`` or ``async with``). Safe to share between tasks of one
    event loop.
    """

    def __init__(
        self,
        base_url: str,
        project_id: str,
        secret_server_key: str,
        *,
        publishable_client_key: str | None = None,
        rate_limit_retries: int = 3,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._core = Core.create(
            base_url, project_id, secret_server_key, publishable_client_key, rate_limit_retries
        )
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        )

    @property
    def project_id(self) -> str:
        return self._core.project_id

    async def aclose(self) -> None:
        """Close the HTTP client the app made (one passed in is left to its owner)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(**self._core.request(call))
            except httpx.TransportError as error:
                return Core.transport_failed(call, error)
            wait = self._core.retry_after(response, attempt)
            if wait is None:
                return Core.finish(call, response)
            attempt += 1
            await asyncio.sleep(wait)

    # users
    get_user = _async(users.get_user)
    list_users = _async(users.list_users)
    search_users = _async(users.search_users)
    create_user = _async(users.create_user)
    update_user = _async(users.update_user)
    delete_user = _async(users.delete_user)

    def iter_users(
        self, *, page_size: int = 100, **filters: Unpack[UserFilters]
    ) -> AsyncIterator[User]:
        """Every user ``list_users`` would list with ``filters``, page after page as used
        (``async for``)."""

        def fetch(cursor: str | None) -> Awaitable[Page[User]]:
            return self.list_users(limit=page_size, cursor=cursor, **filters)

        return awalk(fetch)

    # teams and members
    get_team = _async(teams.get_team)
    list_teams = _async(teams.list_teams)
    create_team = _async(teams.create_team)
    update_team = _async(teams.update_team)
    delete_team = _async(teams.delete_team)
    add_team_member = _async(teams.add_team_member)
    remove_team_member = _async(teams.remove_team_member)
    list_team_members = _async(teams.list_team_members)

    def iter_teams(
        self, *, page_size: int = 100, **filters: Unpack[TeamFilters]
    ) -> AsyncIterator[Team]:
        """Every team ``list_teams`` would list with ``filters``, page after page as used
        (``async for``)."""

        def fetch(cursor: str | None) -> Awaitable[Page[Team]]:
            return self.list_teams(limit=page_size, cursor=cursor, **filters)

        return awalk(fetch)

    # permissions
    grant_permission = _async(permissions.grant_permission)
    revoke_permission = _async(permissions.revoke_permission)
    list_permissions = _async(permissions.list_permissions)
    has_permission = _async(permissions.has_permission)

    # sessions
    create_session = _async(sessions.create_session)
    impersonate = _async(sessions.impersonate)
    list_sessions = _async(sessions.list_sessions)
    revoke_session = _async(sessions.revoke_session)

    # API keys
    create_user_api_key = _async(api_keys.create_user_api_key)
    create_team_api_key = _async(api_keys.create_team_api_key)
    list_user_api_keys = _async(api_keys.list_user_api_keys)
    list_team_api_keys = _async(api_keys.list_team_api_keys)
    revoke_user_api_key = _async(api_keys.revoke_user_api_key)
    revoke_team_api_key = _async(api_keys.revoke_team_api_key)
    check_user_api_key = _async(api_keys.check_user_api_key)
    check_team_api_key = _async(api_keys.check_team_api_key)

    # contact channels
    list_contact_channels = _async(contact_channels.list_contact_channels)
    create_contact_channel = _async(contact_channels.create_contact_channel)
    update_contact_channel = _async(contact_channels.update_contact_channel)
    delete_contact_channel = _async(contact_channels.delete_contact_channel)
    send_verification_code = _async(contact_channels.send_verification_code)

    # email
    send_email = _async(emails.send_email)
