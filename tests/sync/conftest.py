"""The sync tests' own database and API (no ClickHouse, a Redis namespace of their own).

Own, because the sequencer numbers every tenancy's changes at once: with a database of their own
these tests see exactly the requests and messages they caused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import ApiServer, running_api
from tests.mail_fixtures import delete_namespace, seeded_database


@dataclass
class SyncStack:
    database_url: str
    api: ApiServer
    namespace: str


@pytest.fixture(scope="session")
def sync_stack(session_redis: str) -> Iterator[SyncStack]:
    namespace = f"sync_{secrets.token_hex(4)}"
    with seeded_database("authstack_sync") as url:
        try:
            with running_api(url, STACK_QUEUE_NAMESPACE=namespace) as api:
                yield SyncStack(url, api, namespace)
        finally:
            delete_namespace(session_redis, namespace)


@pytest.fixture
def sync_db(sync_stack: SyncStack) -> str:
    return sync_stack.database_url


@pytest.fixture
def sync_http(sync_stack: SyncStack) -> Iterator[httpx.Client]:
    with sync_stack.api.client() as client:
        yield client
