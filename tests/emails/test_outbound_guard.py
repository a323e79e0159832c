"""A project's own SMTP server must be public: internal hosts are refused on save and on
connect, unless the operator sets STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import PASSWORD, assert_known_error, create_user, unique_email
from tests.conftest import TEST_REDIS_URL, Project, create_project, start_api, stop_api
from tests.mail import (
    MailSink,
    WorkerProcess,
    custom_server_config,
    send_email,
    start_worker,
    wait_until,
)
from tests.mail_fixtures import delete_namespace

STANDARD = {
    "type": "standard",
    "port": 587,
    "username": "mailer",
    "password": "smtp-secret",
    "sender_name": "My App",
    "sender_email": "noreply@example.com",
}


def save_email_host(http: httpx.Client, project: Project, host: str) -> httpx.Response:
    return http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"config": {"email_config": {**STANDARD, "host": host}}},
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("2130706433", "loopback address"),  # 127.0.0.1 as one decimal number
        ("0x7f.1", "loopback address"),
        ("[::1]", "loopback address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("localhost", "loopback host name"),
        ("10.0.0.5", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (a value under test)
    ],
)
def test_saving_an_internal_smtp_host_is_refused(
    http: httpx.Client, project: Project, host: str, reason: str
) -> None:
    body = assert_known_error(save_email_host(http, project, host), "SCHEMA_ERROR", 400)
    assert f"config.email_config.host: {host} is" in body["error"]
    assert reason in body["error"]
    assert "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS" in body["error"]
    config = http.get("/api/v1/internal/projects/current", headers=project.headers("admin"))
    assert config.json()["config"]["email_config"] == {"type": "shared"}  # nothing was saved


def test_saving_a_public_smtp_host_is_accepted(http: httpx.Client, project: Project) -> None:
    for host in ("smtp.example.com", "93.184.216.34"):
        r = save_email_host(http, project, host)
        assert r.status_code == 200, r.text
        assert r.json()["config"]["email_config"]["host"] == host


@pytest.fixture
def strict_stack(drill_database: str, mail_sink: MailSink) -> Iterator[tuple[httpx.Client, str]]:
    """An API and a worker with the default STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS=false, on a
    database and queue of their own. Their shared server (the operator's) is the session sink."""
    namespace = f"outbound-{secrets.token_hex(4)}"
    env = {"STACK_QUEUE_NAMESPACE": namespace}
    api = start_api(drill_database, **env)
    worker: WorkerProcess | None = None
    try:
        worker = start_worker(drill_database, mail_sink, **env)
        with api.client() as http:
            yield http, drill_database
    finally:
        if worker is not None:
            worker.stop()
        stop_api(api)
        delete_namespace(TEST_REDIS_URL, namespace)


def send_one(http: httpx.Client, project: Project) -> str:
    """Send a new user of the project one mail; returns the user's address."""
    email = unique_email()
    user = create_user(http, project, primary_email=email)
    r = send_email(http, project, [user["id"]], html="<p>Hello</p>", subject="Hello")
    assert r.status_code == 200, r.text
    return email


def failed_item(http: httpx.Client, project: Project) -> dict[str, Any]:
    def failed() -> dict[str, Any] | None:
        items = http.get(
            "/api/v1/emails/outbox", headers=project.headers("server"), params={"status": "failed"}
        ).json()["items"]
        return items[0] if items else None

    item: dict[str, Any] = wait_until(failed, 20, what="the outbox row to fail")
    return item


def test_worker_refuses_internal_smtp_targets_without_connecting(
    strict_stack: tuple[httpx.Client, str], make_sink: Any, mail_sink: MailSink
) -> None:
    http, database = strict_stack
    sink: MailSink = make_sink()
    # Written straight to the database (as before this check existed): the worker is the guard.
    literal = create_project(database, custom_server_config(sink))
    send_one(http, literal)
    item = failed_item(http, literal)
    assert item["attempt_count"] == 1  # permanent: no retries
    assert f"refused to connect to 127.0.0.1:{sink.smtp_port}" in item["error"]
    assert "127.0.0.1 is a loopback address" in item["error"]
    assert "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS" in item["error"]

    # A host *name* passes the save-time check; resolved when connecting, it points inside.
    name = socket.gethostname()
    named = create_project(database, custom_server_config(sink, host=name))
    send_one(http, named)
    item = failed_item(http, named)
    assert f"{name} resolves to" in item["error"]

    state = sink.state()
    assert state["sessions"] == 0  # no connection ever reached the server
    assert sink.messages() == []

    # The shared server is the operator's own: on loopback too, and still used.
    shared = create_project(database)
    email = unique_email("shared")
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=shared.headers(),
        json={
            "email": email,
            "password": PASSWORD,
            "verification_callback_url": "http://localhost:3000/handler/email-verification",
        },
    )
    assert r.status_code == 200, r.text
    assert mail_sink.wait_for(email)


def test_with_private_networks_allowed_the_same_server_receives_the_mail(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    """The session's worker runs with STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS=true."""
    sink, project = own_server
    [message] = sink.wait_for(send_one(http, project))
    assert message["subject"] == "Hello"
    assert sink.state()["sessions"] == 1
