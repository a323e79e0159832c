"""send-email to every user and to explicit addresses, written in whole batches, and the
sign-in invitation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from authstack_core.domain import access, emails
from authstack_core.domain.context import Deps
from authstack_core.settings import Settings
from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import Project, settings_env
from tests.factories import query_rows
from tests.mail import MailSink, WorkerProcess

SEND = "/api/v1/emails/send-email"
INVITE = "/api/v1/internal/send-sign-in-invitation"
CALLBACK = "http://localhost:3000/handler/sign-in"


def users(http: httpx.Client, project: Project, count: int) -> dict[str, str]:
    """``count`` new users with an address each: user id -> address."""
    out = {}
    for _ in range(count):
        address = unique_email("all")
        out[create_user(http, project, primary_email=address)["id"]] = address
    return out


def test_a_send_to_all_users_reaches_every_user_exactly_once(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    everyone = users(http, project, 5)
    r = http.post(
        SEND,
        headers=project.headers("server"),
        json={"all_users": True, "html": "<p>To all of you</p>", "subject": "Hello all"},
    )
    assert r.status_code == 200, r.text
    results = [item["user_id"] for item in r.json()["results"]]
    assert sorted(results) == sorted(everyone)
    for address in everyone.values():
        sink.wait_for(address)
    time.sleep(0.5)  # a duplicate would have arrived by now
    for address in everyone.values():
        assert len(sink.messages(address)) == 1
    assert len(sink.messages()) == 5


@pytest.fixture
async def deps(migrated_database: str) -> AsyncIterator[Deps]:
    settings = Settings(**settings_env(migrated_database))  # type: ignore[arg-type]
    async with AsyncConnectionPool(migrated_database, min_size=1, max_size=2) as pool:
        built = Deps.build(settings, pool)
        try:
            yield built
        finally:
            built.jobs.close()


@pytest.mark.parametrize("to", ["all_users", "user_ids"])
async def test_each_batch_is_written_in_one_transaction_of_its_own(
    http: httpx.Client, own_server: tuple[MailSink, Project], deps: Deps, to: str
) -> None:
    _, project = own_server
    everyone = users(http, project, 5)
    row = await access.project_for_request(deps, project.id, "main")
    assert row is not None
    tenant = row.tenant_project()
    assert tenant is not None
    recipients = (
        emails.Recipients(all_users=True)
        if to == "all_users"
        else emails.Recipients(user_ids=list(everyone))
    )
    queued = await emails.send_email(
        deps,
        tenant,
        to=recipients,
        html="<p>x</p>",
        template_id=None,
        variables={},
        subject="Batched",
        is_high_priority=False,
        scheduled_at=None,
        batch_size=2,
    )
    assert sorted(queued) == sorted(everyone)
    # created_at defaults to now(), the time its transaction began: rows of one transaction
    # share it. 5 rows in batches of 2 are 2 + 2 + 1, each batch whole, in a transaction of its own.
    rows = query_rows(
        str(deps.settings.database_url),
        "SELECT created_at, count(*) FROM email_outbox WHERE tenancy_id = %s GROUP BY created_at",
        (project.tenancy_id,),
    )
    assert sorted(count for _, count in rows) == [1, 2, 2]


def test_explicit_addresses_get_one_transactional_mail_each(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    first, second = unique_email("list"), unique_email("list")
    r = http.post(
        SEND,
        headers=project.headers("server"),
        json={"emails": [first, first.upper(), second], "html": "<p>Hi</p>", "subject": "Note"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"user_email": first}, {"user_email": second}]}
    for address in (first, second):
        [message] = sink.wait_for(address)
        assert message["subject"] == "Note"


@pytest.mark.parametrize(
    "body",
    [
        {"emails": ["a@example.com"], "notification_category_name": "Marketing"},
        {"emails": ["not an address"]},
        {"emails": ["a@example.com"], "all_users": True},
        {"user_ids": [], "all_users": True},
        {},
    ],
)
def test_recipients_are_exactly_one_kind_and_addresses_take_transactional_mail_only(
    http: httpx.Client, own_server: tuple[MailSink, Project], body: dict[str, Any]
) -> None:
    _, project = own_server
    r = http.post(
        SEND, headers=project.headers("server"), json={**body, "html": "<p>x</p>", "subject": "x"}
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_a_sign_in_invitation_arrives_with_its_link(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    address = unique_email("invited")
    r = http.post(
        INVITE, headers=project.headers("server"), json={"email": address, "callback_url": CALLBACK}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    [message] = mail_sink.wait_for(address)
    assert message["subject"].startswith("You have been invited to sign in to Test project")
    assert CALLBACK in message["text"]
    assert f'href="{CALLBACK}"' in message["html"]
    assert "unsubscribe" not in message["text"].lower()  # Transactional, like every built-in


def test_a_sign_in_invitation_needs_a_trusted_link_and_server_access(
    http: httpx.Client, project: Project
) -> None:
    body = {"email": unique_email("invited"), "callback_url": "https://evil.example/steal"}
    r = http.post(INVITE, headers=project.headers("server"), json=body)
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)
    body["callback_url"] = CALLBACK
    assert_known_error(
        http.post(INVITE, headers=project.headers(), json=body), "INSUFFICIENT_ACCESS_TYPE", 401
    )
    assert_known_error(
        http.post(INVITE, headers=project.headers("server"), json={**body, "email": "nope"}),
        "SCHEMA_ERROR",
        400,
    )
