"""CLI sign-in at its edges: codes that are wrong, malformed or another project's, bodies that are
not the contract's, the cron's purge of expired attempts, and the limit per polling code."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.cli_auth_helpers import (
    COMPLETE,
    POLL,
    START,
    assert_invalid_login_code,
    complete,
    poll,
    poll_status,
    start,
)
from tests.api.helpers import assert_known_error
from tests.api.team_helpers import new_user
from tests.api.test_rate_limits import assert_rate_limited, client_ip
from tests.conftest import CRON_SECRET, QUEUE_NAMESPACE, ApiServer, Project, running_api
from tests.factories import query_value


def _random_code() -> str:
    return "".join(secrets.choice("0123456789abcdefghjkmnpqrstvwxyz") for _ in range(45))


def test_a_wrong_polling_code_is_invalid_polling_code(http: httpx.Client, project: Project) -> None:
    attempt = start(http, project)
    for wrong in (
        _random_code(),
        "",
        attempt["login_code"],  # the browser's code does not poll
        attempt["polling_code"].upper(),
        attempt["polling_code"] + " ",
        "x' OR '1'='1",
    ):
        r = poll(http, project, wrong)
        body = assert_known_error(r, "INVALID_POLLING_CODE", 400)
        assert body == {
            "code": "INVALID_POLLING_CODE",
            "error": "The polling code is invalid or does not exist.",
        }
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"


def test_a_wrong_login_code_is_refused_in_every_mode(http: httpx.Client, project: Project) -> None:
    attempt = start(http, project)
    browser = new_user(http, project)
    for wrong in (_random_code(), "", attempt["polling_code"]):
        assert_invalid_login_code(complete(http, project, wrong, mode="check"))
        assert_invalid_login_code(complete(http, project, wrong, mode="claim-anon-session"))
        assert_invalid_login_code(complete(http, project, wrong, browser))
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"


def test_another_projects_codes_are_unknown(
    http: httpx.Client, project: Project, make_project: Any
) -> None:
    """B's CLI codes used with A's keys and A's signed-in user: unknown, and B's attempt stays
    as it was (then completes normally in B)."""
    b = make_project()
    b_attempt = start(http, b)
    a_user = new_user(http, project)
    assert_known_error(poll(http, project, b_attempt["polling_code"]), "INVALID_POLLING_CODE", 400)
    assert_invalid_login_code(complete(http, project, b_attempt["login_code"], mode="check"))
    assert_invalid_login_code(complete(http, project, b_attempt["login_code"], a_user))
    # A's user's token sent to B's project is refused outright.
    r = http.post(
        COMPLETE,
        headers=b.headers(**{"x-stack-access-token": a_user.access_token}),
        json={"login_code": b_attempt["login_code"], "refresh_token": a_user.refresh_token},
    )
    assert_known_error(r, "INVALID_PROJECT_FOR_ACCESS_TOKEN", 401)
    assert poll_status(http, b, b_attempt["polling_code"]) == "waiting"
    b_user = new_user(http, b)
    assert complete(http, b, b_attempt["login_code"], b_user).status_code == 200
    assert poll(http, b, b_attempt["polling_code"]).status_code == 201


BAD_BODIES: list[tuple[str, Any]] = [
    (START, []),
    (START, {"unknown": 1}),
    (START, {"anon_refresh_token": 5}),
    (START, {"anon_refresh_token": "x" * 5000}),
    (START, {"anon_refresh_token": "nul\u0000"}),
    (POLL, {}),
    (POLL, None),
    (POLL, {"polling_code": None}),
    (POLL, {"polling_code": 12}),
    (POLL, {"polling_code": ["a"]}),
    (POLL, {"polling_code": "x" * 5000}),
    (POLL, {"polling_code": "nul\u0000"}),
    (POLL, {"polling_code": "a", "extra": True}),
    (COMPLETE, {}),
    (COMPLETE, {"login_code": "a", "mode": "steal"}),
    (COMPLETE, {"login_code": "a", "mode": None}),
    (COMPLETE, {"login_code": {"a": 1}}),
    (COMPLETE, {"login_code": "a", "refresh_token": 1}),
    (COMPLETE, {"login_code": "a", "refresh_token": "x" * 5000}),
    (COMPLETE, {"login_code": "a", "extra": 1}),
]


@pytest.mark.parametrize(("path", "body"), BAD_BODIES, ids=lambda v: str(v)[:30])
def test_bodies_outside_the_contract_are_schema_errors(
    http: httpx.Client, project: Project, path: str, body: Any
) -> None:
    r = http.post(path, headers=project.headers(), json=body)
    assert_known_error(r, "SCHEMA_ERROR", 400)


@pytest.mark.parametrize(
    ("path", "body"), [(START, {}), (POLL, {"polling_code": "a"}), (COMPLETE, {"login_code": "a"})]
)
def test_unparsable_bodies_and_missing_auth_are_client_errors(
    http: httpx.Client, project: Project, path: str, body: dict[str, str]
) -> None:
    headers = {**project.headers(), "content-type": "application/json"}
    assert_known_error(
        http.post(path, headers=headers, content=b"{not json"), "BODY_PARSING_ERROR", 400
    )
    assert_known_error(http.post(path, json=body), "ACCESS_TYPE_REQUIRED", 400)


def test_the_cron_step_purges_attempts_an_hour_past_expiry(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    old, recent = start(http, project, expires_in_millis=1), start(http, project)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "UPDATE cli_auth_attempts SET expires_at = now() - interval '61 minutes' "
            "WHERE tenancy_id = %s AND polling_code_hash = sha256(%s::bytea)",
            (project.tenancy_id, old["polling_code"].encode()),
        )
    assert poll_status(http, project, old["polling_code"]) == "expired"
    step = http.get(
        "/api/v1/internal/email-queue-step", headers={"authorization": f"Bearer {CRON_SECRET}"}
    )
    assert step.status_code == 200, step.text
    assert_known_error(poll(http, project, old["polling_code"]), "INVALID_POLLING_CODE", 400)
    assert poll_status(http, project, recent["polling_code"]) == "waiting"
    remaining = query_value(
        migrated_database,
        "SELECT count(*) FROM cli_auth_attempts WHERE expires_at < now() - interval '1 hour'",
    )
    assert remaining == 0


@pytest.fixture(scope="module")
def low_poll_limit(migrated_database: str) -> Iterator[ApiServer]:
    """An API that trusts loopback as its proxy (so each test picks its client address) and
    allows two polls per polling code an hour."""
    with running_api(
        migrated_database,
        STACK_QUEUE_NAMESPACE=f"{QUEUE_NAMESPACE}:rl{secrets.token_hex(3)}",
        STACK_TRUSTED_PROXY_NETWORKS="127.0.0.1/32",
        STACK_RATE_LIMITS="cli_auth_poll.account=1/1h:2",
    ) as server:
        yield server


def test_polls_are_limited_per_polling_code_whatever_the_address(
    low_poll_limit: ApiServer, project: Project
) -> None:
    with low_poll_limit.client() as http:
        attempt, other = start(http, project), start(http, project)

        def from_new_address(code: str) -> httpx.Response:
            headers = project.headers(**{"x-forwarded-for": client_ip()})
            return http.post(POLL, headers=headers, json={"polling_code": code})

        assert [from_new_address(attempt["polling_code"]).status_code for _ in range(2)] == [
            200,
            200,
        ]
        assert_rate_limited(from_new_address(attempt["polling_code"]))
        assert from_new_address(other["polling_code"]).status_code == 200
