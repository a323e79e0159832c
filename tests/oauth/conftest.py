"""The OAuth tests' fixtures: their API (``env``, ``http``); the servers themselves are
``tests/oauth/servers.py``, registered for every test package."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.oauth.flow import OAuth, OAuthEnv
from tests.oauth.servers import OAuthServers


@pytest.fixture
def env(oauth_env: OAuthEnv) -> OAuthEnv:
    return oauth_env


@pytest.fixture
def http(oauth_servers: OAuthServers) -> Iterator[httpx.Client]:
    """A client of the OAuth tests' API (not the session API of ``tests/conftest.py``)."""
    with oauth_servers.api.client() as client:
        yield client


@pytest.fixture
def oauth(env: OAuthEnv, http: httpx.Client) -> OAuth:
    return OAuth(env, http)
