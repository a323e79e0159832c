"""A real OpenID provider on loopback and an API that uses it, for the OAuth tests (and the
dashboard's and the SDK's OAuth tests). Registered once for every test package
(``pytest_plugins`` in tests/conftest.py), as the email fixtures are: a session fixture imported
into several modules would start its servers once per module.

The provider is ``provider/server.js`` (node-oidc-provider, ``npm ci`` there if missing). The API
runs with Stack Auth's development convention: every built-in provider's shared keys are
``MOCK``, so each is an OpenID Connect client of that provider, and private addresses are allowed
for a project's own issuer (the generic OpenID Connect provider here is on loopback too). The two
need each other's address, so both ports are chosen first.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ApiServer, ensure_node_modules, start_api, stop_api
from tests.factories import free_port, stop_process, wait_healthy
from tests.oauth.flow import BUILTIN, GENERIC_SECRET, OAuthEnv
from tests.oauth.rogue_issuer import rogue_issuer

PROVIDER_DIR = Path(__file__).parent / "provider"
OIDC_PROVIDER_VERSION = "9.13.3"
# The generic provider's config ids the provider registers callbacks for.
GENERIC_IDS = ("acme-sso", "acme-legacy")


def _installed() -> bool:
    manifest = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    try:
        return bool(json.loads(manifest.read_text())["version"] == OIDC_PROVIDER_VERSION)
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="session")
def node_provider_ready() -> None:
    """Node is on PATH and the provider's node_modules is installed (``npm ci`` if not)."""
    ensure_node_modules(PROVIDER_DIR, _installed, "the OAuth tests")


@dataclass
class OAuthServers:
    api: ApiServer
    provider_url: str


@pytest.fixture(scope="session")
def oauth_servers(
    migrated_database: str, node_provider_ready: None, rogue: str
) -> Iterator[OAuthServers]:
    api_port, provider_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    provider_url = f"http://127.0.0.1:{provider_port}"
    provider = subprocess.Popen(
        ["node", "server.js"],
        cwd=PROVIDER_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PORT": str(provider_port),
            "API_URL": api_url,
            "GENERIC_SECRET": GENERIC_SECRET,
            "GENERIC_CONFIG_IDS": ",".join(GENERIC_IDS),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(provider, f"{provider_url}/.well-known/openid-configuration", "OIDC provider")
        mock_keys = {
            f"STACK_{p.upper()}_CLIENT_{part}": "MOCK" for p in BUILTIN for part in ("ID", "SECRET")
        }
        api = start_api(
            migrated_database,
            port=api_port,
            NEXT_PUBLIC_STACK_API_URL=api_url,
            STACK_OAUTH_MOCK_URL=provider_url,
            STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS="true",
            # Stack Auth's development flag: MOCK (shared) providers' access tokens are handed
            # out, so the connected-account tests use them as upstream's do.
            STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS="true",
            STACK_APPLE_JWKS_URL=f"{rogue}/apple/keys",
            **mock_keys,
        )
        try:
            yield OAuthServers(api, provider_url)
        finally:
            stop_api(api)
    finally:
        stop_process(provider)


@pytest.fixture(scope="session")
def rogue() -> Iterator[str]:
    with rogue_issuer() as base:
        yield base


@pytest.fixture
def oauth_env(oauth_servers: OAuthServers) -> OAuthEnv:
    """Where the OAuth tests' API, its database and the provider are."""
    api = oauth_servers.api
    return OAuthEnv(api.url, api.database_url, oauth_servers.provider_url)
