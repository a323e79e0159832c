"""``StackServerApp``: the server API over a blocking ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Concatenate, ParamSpec, Self, TypeVar, Unpack

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
from authstack_sdk.pagination import walk

P = ParamSpec("P")
T = TypeVar("T")


def _sync(operation: Callable[P, Call[T]]) -> Callable[Concatenate[StackServerApp, P], T]:
    """A method of the app that sends ``operation``'s call and returns its result."""

    def method(self: StackServerApp, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._send(operation(*args, **kwargs))

    as_method(method, operation)
    return method


class StackServerApp:
    """The server side of a Stack Auth project: users, teams, permissions, sessions, API keys,
    contact channels and email, called with the project's secret server key.

    ``base_url`` is the API's address (``https://api.example.com``); ``http_client`` an
    ``httpx.Client`` of yours to send through (its pool, proxies, timeouts), else the app makes
    and closes its own. Failed calls raise a subclass of ``authstack_sdk.errors.StackError``
    named after the contract's error code; ``get_user``, ``get_team`` and the API-key checks
    answer None for what does not exist. A rate-limited call (429) is sent again after the
    server's ``Retry-After``, up to ``rate_limit_retries`` times. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        project_id: str,
        secret_server_key: str,
        *,
        publishable_client_key: str | None = None,
        rate_limit_retries: int = 3,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._core = Core.create(
            base_url, project_id, secret_server_key, publishable_client_key, rate_limit_retries
        )
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)
        )

    @property
    def project_id(self) -> str:
        return self._core.project_id

    def close(self) -> None:
        """Close the HTTP client the app made (one passed in is left to its owner)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(**self._core.request(call))
            except httpx.TransportError as error:
                return Core.transport_failed(call, error)
            wait = self._core.retry_after(response, attempt)
            if wait is None:
                return Core.finish(call, response)
            attempt += 1
            time.sleep(wait)

    # users
    get_user = _sync(users.get_user)
    list_users = _sync(users.list_users)
    search_users = _sync(users.search_users)
    create_user = _sync(users.create_user)
    update_user = _sync(users.update_user)
    delete_user = _sync(users.delete_user)

    def iter_users(self, *, page_size: int = 100, **filters: Unpack[UserFilters]) -> Iterator[User]:
        """Every user ``list_users`` would list with ``filters``, page after page as used."""
        return walk(lambda cursor: self.list_users(limit=page_size, cursor=cursor, **filters))

    # teams and members
    get_team = _sync(teams.get_team)
    list_teams = _sync(teams.list_teams)
    create_team = _sync(teams.create_team)
    update_team = _sync(teams.update_team)
    delete_team = _sync(teams.delete_team)
    add_team_member = _sync(teams.add_team_member)
    remove_team_member = _sync(teams.remove_team_member)
    list_team_members = _sync(teams.list_team_members)

    def iter_teams(self, *, page_size: int = 100, **filters: Unpack[TeamFilters]) -> Iterator[Team]:
        """Every team ``list_teams`` would list with ``filters``, page after page as used."""
        return walk(lambda cursor: self.list_teams(limit=page_size, cursor=cursor, **filters))

    # permissions
    grant_permission = _sync(permissions.grant_permission)
    revoke_permission = _sync(permissions.revoke_permission)
    list_permissions = _sync(permissions.list_permissions)
    has_permission = _sync(permissions.has_permission)

    # sessions
    create_session = _sync(sessions.create_session)
    impersonate = _sync(sessions.impersonate)
    list_sessions = _sync(sessions.list_sessions)
    revoke_session = _sync(sessions.revoke_session)

    # API keys
    create_user_api_key = _sync(api_keys.create_user_api_key)
    create_team_api_key = _sync(api_keys.create_team_api_key)
    list_user_api_keys = _sync(api_keys.list_user_api_keys)
    list_team_api_keys = _sync(api_keys.list_team_api_keys)
    revoke_user_api_key = _sync(api_keys.revoke_user_api_key)
    revoke_team_api_key = _sync(api_keys.revoke_team_api_key)
    check_user_api_key = _sync(api_keys.check_user_api_key)
    check_team_api_key = _sync(api_keys.check_team_api_key)

    # contact channels
    list_contact_channels = _sync(contact_channels.list_contact_channels)
    create_contact_channel = _sync(contact_channels.create_contact_channel)
    update_contact_channel = _sync(contact_channels.update_contact_channel)
    delete_contact_channel = _sync(contact_channels.delete_contact_channel)
    send_verification_code = _sync(contact_channels.send_verification_code)

    # email
    send_email = _sync(emails.send_email)
