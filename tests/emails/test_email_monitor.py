"""GET|POST /health/email: the shared SMTP server's reachability (connect and EHLO, nothing
sent) and, when configured, a real sign-up whose verification email is awaited in the sink's
Inbucket-compatible mailbox, then cleaned up; refused without its token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import ApiServer, running_api
from tests.factories import Project, create_project, free_port, query_rows
from tests.mail import MailSink, WorkerProcess

TOKEN = secrets.token_urlsafe(32)


@contextmanager
def monitoring_api(
    database_url: str, sink: MailSink, **extra: str
) -> Iterator[tuple[ApiServer, Project]]:
    """An API whose email monitor signs up on a fresh project (password sign-up on, localhost
    trusted) and reads the sink's Inbucket-style mailbox."""
    project = create_project(database_url)
    with running_api(
        database_url,
        STACK_EMAIL_MONITOR_SECRET_TOKEN=TOKEN,
        STACK_EMAIL_MONITOR_PROJECT_ID=project.id,
        STACK_EMAIL_MONITOR_INBUCKET_API_URL=sink.http_url,
        STACK_EMAIL_HOST="127.0.0.1",
        STACK_EMAIL_PORT=str(sink.smtp_port),
        **extra,
    ) as server:
        yield server, project


@pytest.fixture(scope="module")
def monitor_api(migrated_database: str, mail_sink: MailSink) -> Iterator[tuple[ApiServer, Project]]:
    with monitoring_api(
        migrated_database,
        mail_sink,
        STACK_EMAIL_MONITOR_VERIFICATION_CALLBACK_URL="http://localhost:3000/handler/verify",
        STACK_EMAIL_MONITOR_TIMEOUT_SECONDS="20",
        STACK_RATE_LIMITS="email_monitor.ip=600/1min:100",
    ) as running:
        yield running


def users_of(database_url: str, project: Project) -> list[Any]:
    return query_rows(
        database_url, "SELECT id FROM users WHERE tenancy_id = %s", (project.tenancy_id,)
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_monitor_round_trip_succeeds_and_leaves_no_user(
    monitor_api: tuple[ApiServer, Project],
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
    method: str,
) -> None:
    server, project = monitor_api
    with server.client() as http:
        r = http.request(method, "/health/email", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    smtp = r.json()["smtp"]
    assert (smtp["reachable"], smtp["host"], smtp["port"]) == (
        True,
        "127.0.0.1",
        mail_sink.smtp_port,
    )
    monitored = [m for m in mail_sink.messages() if m["rcpt_tos"][0].startswith("monitor+")]
    assert any("Verify your email" in m["subject"] for m in monitored)
    assert users_of(server.database_url, project) == []


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", TOKEN, f"bearer {TOKEN}x"])
def test_without_the_token_it_is_refused_and_signs_nobody_up(
    monitor_api: tuple[ApiServer, Project], authorization: str | None
) -> None:
    server, project = monitor_api
    headers = {} if authorization is None else {"authorization": authorization}
    with server.client() as http:
        r = http.get("/health/email", headers=headers)
    assert r.status_code == 401
    assert users_of(server.database_url, project) == []


def test_without_a_worker_the_monitor_reports_the_missing_email(
    migrated_database: str, mail_sink: MailSink
) -> None:
    """A queue nobody consumes: the email never arrives, and the answer says so (503)."""
    with (
        monitoring_api(
            migrated_database,
            mail_sink,
            STACK_EMAIL_MONITOR_TIMEOUT_SECONDS="2",
            STACK_QUEUE_NAMESPACE=f"monitor-{secrets.token_hex(4)}",
        ) as (server, project),
        server.client() as http,
    ):
        r = http.get("/health/email", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 503
    assert r.json()["success"] is False
    assert "no verification email within 2 s" in r.json()["error"]
    assert r.json()["smtp"]["reachable"] is True  # the server is fine; the queue is not
    assert users_of(migrated_database, project) == []


def test_without_monitor_or_server_it_reports_the_missing_server_and_is_rate_limited(
    http: httpx.Client,
) -> None:
    """The session's API has neither the monitor's settings nor STACK_EMAIL_HOST."""
    answers = [
        http.get("/health/email", headers={"authorization": f"Bearer {TOKEN}"}) for _ in range(7)
    ]
    assert [r.status_code for r in answers[:5]] == [503] * 5
    smtp = answers[0].json()["smtp"]
    assert (smtp["reachable"], smtp["host"], smtp["latency_ms"]) == (False, None, None)
    assert "STACK_EMAIL_HOST" in smtp["error"]
    assert answers[-1].status_code == 429  # email_monitor.ip: burst 5


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_the_monitor_it_reports_the_shared_servers_reachability(
    migrated_database: str, make_sink: Any, method: str
) -> None:
    """Connect and EHLO only: no mail, no login, no credential in the answer."""
    sink = make_sink()
    password = "smtp-" + secrets.token_hex(8)
    with (
        running_api(
            migrated_database,
            STACK_EMAIL_HOST="127.0.0.1",
            STACK_EMAIL_PORT=str(sink.smtp_port),
            STACK_EMAIL_USERNAME="mailer",
            STACK_EMAIL_PASSWORD=password,
            # The limiter's buckets live in the shared Redis: another test may have drained this
            # address's email_monitor bucket a moment ago (rate limits are tested above).
            STACK_RATE_LIMIT_ENABLED="false",
        ) as server,
        server.client() as http,
    ):
        r = http.request(method, "/health/email")
    assert r.status_code == 200, r.text
    smtp = r.json()["smtp"]
    assert (smtp["reachable"], smtp["host"], smtp["port"]) == (True, "127.0.0.1", sink.smtp_port)
    assert 0 <= smtp["latency_ms"] < 5000
    assert "error" not in smtp
    assert password not in r.text
    assert "mailer" not in r.text
    assert sink.state()["received"] == 0


def test_an_unreachable_shared_server_answers_503_with_the_reason(migrated_database: str) -> None:
    port = free_port()  # nothing listens there
    with (
        running_api(
            migrated_database,
            STACK_EMAIL_HOST="127.0.0.1",
            STACK_EMAIL_PORT=str(port),
            STACK_RATE_LIMIT_ENABLED="false",  # as above
        ) as server,
        server.client() as http,
    ):
        r = http.get("/health/email")
    assert r.status_code == 503, r.text
    smtp = r.json()["smtp"]
    assert (smtp["reachable"], smtp["host"], smtp["port"]) == (False, "127.0.0.1", port)
    assert f"Could not connect to 127.0.0.1:{port}" in smtp["error"]
