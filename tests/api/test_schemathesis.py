"""Property-based requests from the API's own OpenAPI document: no input may cause a 5xx.

Schemathesis generates, for every operation, requests that fit the document (positive) and
requests that break it (negative), and sends them with a project's secret server key to the live
API. The run is bounded (a fixed number of examples per operation) and derandomised, so it
takes the same time and sends the same requests on every run; it works in a project of its own,
so what it creates or deletes touches no other test.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from tests.conftest import ApiServer, Project, create_project

EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
# The whole run takes about a minute on a busy two-core machine; far past this means requests
# have started to hang, which is a failure of its own.
BUDGET_SECONDS = 600
# Health checks whose 503 reports a dependency, not the request: the session's API has no shared
# SMTP server, so /health/email answers that it is unreachable, whatever it is sent.
DEPENDENCY_REPORTS = {"/health/email"}


@pytest.fixture(scope="module")
def fuzz_project(migrated_database: str) -> Project:
    return create_project(
        migrated_database, {"auth.otp.allowSignIn": True, "auth.passkey.allowSignIn": True}
    )


def test_generated_requests_never_get_a_server_error(api: ApiServer, fuzz_project: Project) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/api/v1/docs/openapi.json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the OpenAPI document lost most of its operations"
    headers = fuzz_project.headers("server")
    statuses: collections.Counter[int] = collections.Counter()
    server_errors: list[str] = []
    started = time.monotonic()

    for mode, examples in EXAMPLES.items():
        for operation in operations:

            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode))
            def send(case: Any) -> None:
                response = case.call(base_url=api.url, headers=headers, timeout=30)
                statuses[response.status_code] += 1
                reported = case.operation.path in DEPENDENCY_REPORTS and response.status_code == 503
                if response.status_code >= 500 and not reported:
                    server_errors.append(
                        f"{response.status_code} {case.as_curl_command()}\n"
                        f"    -> {response.text[:300]!r}"
                    )

            try:
                send()
            except Unsatisfiable:
                # Nothing to break: an operation without parameters or body has no negative case.
                assert mode is GenerationMode.NEGATIVE, operation.label
    elapsed = time.monotonic() - started

    assert server_errors == [], "\n".join(server_errors)
    assert elapsed < BUDGET_SECONDS
    # The run reached the handlers, not only the request parsing: some requests succeeded.
    assert sum(statuses.values()) > len(operations) * 10
    assert any(200 <= status < 300 for status in statuses), statuses
