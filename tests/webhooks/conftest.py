"""The webhook tests' own database, API and worker (Redis namespace of their own), and receivers.

Own, because the session's worker (the email tests') runs with the default retry schedule and
would take these tests' wake-ups if they shared its namespace.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ApiServer,
    Project,
    create_project,
    running_api,
    start_api,
    stop_api,
)
from tests.mail import WorkerProcess, start_worker
from tests.mail_fixtures import delete_namespace, seeded_database, stopped_after
from tests.webhooks.support import HOOKS_ENV, add_endpoint, receiver

__all__ = ["receiver"]  # the fixture, for every webhook test

Hooked = tuple[Project, dict[str, Any]]  # the ``hooked`` fixture: a project and its endpoint


@dataclass
class Hooks:
    """The webhook tests' stack: database, API and worker sharing one Redis namespace."""

    database_url: str
    api: ApiServer
    worker: WorkerProcess
    env: dict[str, str]

    def project(self, config: dict[str, Any] | None = None) -> Project:
        return create_project(self.database_url, config)


@pytest.fixture(scope="session")
def hooks_database() -> Iterator[str]:
    with seeded_database("authstack_hooks") as url:
        yield url


@pytest.fixture(scope="session")
def hooks(hooks_database: str, session_redis: str) -> Iterator[Hooks]:
    env = {**HOOKS_ENV, "STACK_QUEUE_NAMESPACE": f"hooks_{secrets.token_hex(4)}"}
    worker = start_worker(hooks_database, None, **env)
    try:
        with running_api(hooks_database, **env) as api:
            yield Hooks(hooks_database, api, worker, env)
    finally:
        worker.stop()
        delete_namespace(session_redis, env["STACK_QUEUE_NAMESPACE"])


@pytest.fixture
def hooks_http(hooks: Hooks) -> Iterator[httpx.Client]:
    with hooks.api.client() as client:
        yield client


@pytest.fixture
def hooked(hooks: Hooks, hooks_http: httpx.Client, receiver: Any) -> Hooked:
    """(project, endpoint): a new project with an endpoint at the receiver's ``/hook``."""
    project = hooks.project()
    return project, add_endpoint(hooks_http, project, receiver)


class OwnStack:
    """An API and workers of one test's own, on a Redis and namespace of its own."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.env: dict[str, str] = {}
        self.started: list[ApiServer | WorkerProcess] = []

    def start(self, redis_url: str, **extra: str) -> tuple[ApiServer, WorkerProcess]:
        self.env = {
            **HOOKS_ENV,
            "STACK_REDIS_URL": redis_url,
            "STACK_QUEUE_NAMESPACE": f"hooks_own_{secrets.token_hex(4)}",
            **extra,
        }
        api = start_api(self.database_url, **self.env)
        self.started.append(api)
        return api, self.worker()

    def project(self, config: dict[str, Any] | None = None) -> Project:
        return create_project(self.database_url, config)

    def worker(self) -> WorkerProcess:
        worker = start_worker(self.database_url, None, **self.env)
        self.started.append(worker)
        return worker

    def stop(self) -> None:
        for thing in reversed(self.started):
            if isinstance(thing, ApiServer):
                stop_api(thing)
            else:
                thing.stop()


@pytest.fixture
def own_stack(hooks_database: str) -> Iterator[OwnStack]:
    yield from stopped_after(OwnStack(hooks_database))
