"""POST /internal/send-test-email: one mail sent at once through given SMTP settings or the
project's configured server, answering the SMTP outcome; private targets refused unless the
operator allows them; admin only; rate-limited per project."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, unique_email
from tests.conftest import QUEUE_NAMESPACE, ApiServer, Project, free_port, running_api
from tests.mail import (
    PRIVATE_TARGETS_ENV,
    SENDER,
    MailSink,
    custom_server_config,
    start_sink,
)
from tests.mail_fixtures import TlsFiles, stopped_after

PATH = "/api/v1/internal/send-test-email"


@pytest.fixture(scope="module")
def shared_sink() -> Iterator[MailSink]:
    yield from stopped_after(start_sink())


@pytest.fixture(scope="module")
def smtp_api(
    migrated_database: str, shared_sink: MailSink, tls_files: TlsFiles
) -> Iterator[ApiServer]:
    """An API whose shared server is ``shared_sink``, allowing private SMTP targets (the sinks
    are on loopback), trusting the test CA, with rate-limit counters of its own."""
    with running_api(
        migrated_database,
        STACK_EMAIL_HOST="127.0.0.1",
        STACK_EMAIL_PORT=str(shared_sink.smtp_port),
        STACK_EMAIL_SENDER=SENDER,
        STACK_QUEUE_NAMESPACE=f"{QUEUE_NAMESPACE}:test-mail{secrets.token_hex(3)}",
        SSL_CERT_FILE=str(tls_files.cert),
        **PRIVATE_TARGETS_ENV,
    ) as api:
        yield api


def config_of(sink: MailSink, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": sink.smtp_port,
        "username": "",
        "password": "",
        "sender_name": "Acme Mail",
        "sender_email": "acme@project.test",
        **extra,
    }


def send_test(
    http: httpx.Client, project: Project, to: str, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"recipient_email": to}
    if config is not None:
        body["email_config"] = config
    r = http.post(PATH, headers=project.headers("admin"), json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_given_settings_deliver_at_once_and_answer_success(
    smtp_api: ApiServer, make_sink: Callable[..., MailSink], make_project: Callable[..., Project]
) -> None:
    sink = make_sink()
    project = make_project()
    to = unique_email("admin")
    with smtp_api.client() as http:
        assert send_test(http, project, to, config_of(sink)) == {"success": True}
        outbox = http.get("/api/v1/emails/outbox", headers=project.headers("server")).json()
    [message] = sink.messages(to)  # there already: the answer came after the server's
    assert message["subject"].startswith("Test email from Test project")
    assert message["from"] == "Acme Mail <acme@project.test>"
    assert message["mail_from"] == "acme@project.test"
    assert "came through the email server you configured" in message["text"]
    assert "It works" in message["html"]
    assert outbox["items"] == []  # sent directly, not through the outbox


def test_without_settings_the_projects_configured_server_is_used(
    smtp_api: ApiServer,
    shared_sink: MailSink,
    make_sink: Callable[..., MailSink],
    make_project: Callable[..., Project],
) -> None:
    own_sink = make_sink()
    own = make_project(custom_server_config(own_sink))
    shared = make_project()
    with smtp_api.client() as http:
        own_to, shared_to = unique_email("own"), unique_email("shared")
        assert send_test(http, own, own_to) == {"success": True}
        assert send_test(http, shared, shared_to) == {"success": True}
    assert [m["from"] for m in own_sink.messages(own_to)] == ["Project Mail <hello@project.test>"]
    assert len(shared_sink.messages(shared_to)) == 1
    assert own_sink.messages(shared_to) == []


def test_failures_answer_the_servers_reason_without_secrets(
    smtp_api: ApiServer,
    make_sink: Callable[..., MailSink],
    make_project: Callable[..., Project],
    tls_files: TlsFiles,
) -> None:
    with smtp_api.client() as http:
        closed = send_test(
            http, make_project(), unique_email(), {**config_of(make_sink()), "port": free_port()}
        )
        assert closed["success"] is False
        assert "Could not connect to 127.0.0.1:" in closed["error_message"]

        refusing = make_sink()
        refusing.behave(rcpt_reply="550 5.7.1 Relaying denied")
        refused = send_test(http, make_project(), unique_email(), config_of(refusing))
        assert refused["success"] is False
        assert "550 5.7.1 Relaying denied" in refused["error_message"]

        password = "wrong-" + secrets.token_hex(8)
        login = make_sink(*tls_files.sink_args("--auth", "mailer:right-pass"))
        bad_login = send_test(
            http,
            make_project(),
            unique_email(),
            config_of(login, username="mailer", password=password),
        )
        assert bad_login["success"] is False
        assert "refused the login: 535" in bad_login["error_message"]
        assert password not in str(bad_login)
        good = send_test(
            http,
            make_project(),
            unique_email(),
            config_of(login, username="mailer", password="right-pass"),
        )
        assert good == {"success": True}
        assert [m["authenticated_as"] for m in login.messages()] == ["mailer"]
        assert refusing.state()["received"] == 0


def test_a_private_address_is_refused_unless_the_operator_allows_it(
    http: httpx.Client, make_sink: Callable[..., MailSink], project: Project
) -> None:
    """The session's API does not allow private targets: nothing connects to the sink."""
    sink = make_sink()
    for host in ("127.0.0.1", "localhost", "[::1]", "169.254.169.254"):
        answer = send_test(http, project, unique_email(), config_of(sink, host=host))
        assert answer["success"] is False, host
        assert "Refused to connect" in answer["error_message"]
        assert "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS" in answer["error_message"]
    assert sink.state()["received"] == 0


def test_admin_only_valid_input_and_rate_limited_per_project(
    smtp_api: ApiServer, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    body = {"recipient_email": unique_email(), "email_config": {"host": "127.0.0.1"}}
    with smtp_api.client() as http:
        for access in ("server", "client"):
            r = http.post(PATH, headers=project.headers(access), json={"recipient_email": "a@b.co"})
            assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)
        for bad in (body, {"recipient_email": "not an address"}, {}):
            r = http.post(PATH, headers=project.headers("admin"), json=bad)
            assert_known_error(r, "SCHEMA_ERROR", 400)
        config = {"host": "127.0.0.1", "port": free_port(), "sender_email": "a@project.test"}
        closed = {"recipient_email": unique_email(), "email_config": config}
        answers = [
            http.post(PATH, headers=project.headers("admin"), json=closed).status_code
            for _ in range(6)
        ]
        assert answers == [200] * 5 + [429]  # send_test_email.project: burst 5
        other = make_project()
        assert http.post(PATH, headers=other.headers("admin"), json=closed).status_code == 200
