"""Delivery through a project's own SMTP server: statuses, retries, refusals, TLS, logins,
connection reuse, idempotency, scheduling, and send-email's validation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from authstack_core.jobs import SEND_EMAIL, JobQueue
from authstack_core.settings import Settings
from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import CRON_SECRET, Project, free_port, settings_env
from tests.mail import (
    OUTBOX_BASE_KEYS,
    MailSink,
    WorkerProcess,
    custom_server_config,
    outbox_item,
    send_email,
    wait_until,
)
from tests.mail_fixtures import TlsFiles, make_certificate

MakeProject = Callable[[dict[str, Any] | None], Project]


def create_users(http: httpx.Client, project: Project, count: int) -> list[tuple[str, str]]:
    emails = [unique_email("to") for _ in range(count)]
    return [(create_user(http, project, primary_email=email)["id"], email) for email in emails]


def send_html(
    http: httpx.Client, project: Project, user_ids: list[str], **extra: Any
) -> httpx.Response:
    return send_email(http, project, user_ids, html="<p>Hello there</p>", subject="Hello", **extra)


def outbox(http: httpx.Client, project: Project, **query: Any) -> list[dict[str, Any]]:
    r = http.get("/api/v1/emails/outbox", headers=project.headers("server"), params=query)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def wait_status(
    http: httpx.Client, project: Project, status: str, count: int, timeout: float = 20
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_until(
        lambda: len(items := outbox(http, project, status=status)) >= count and items,
        timeout,
        what=f"{count} outbox row(s) {status}",
    )
    return found


def failed_send(http: httpx.Client, project: Project) -> dict[str, Any]:
    """Send a new user of the project a mail; returns its outbox row once the row has failed."""
    [(user_id, _)] = create_users(http, project, 1)
    assert send_html(http, project, [user_id]).status_code == 200
    [item] = wait_status(http, project, "failed", 1)
    return item


def delivered_send(http: httpx.Client, project: Project, sink: MailSink) -> dict[str, Any]:
    """Send a new user of the project a mail; returns the message once the sink has it."""
    [(user_id, email)] = create_users(http, project, 1)
    assert send_html(http, project, [user_id]).status_code == 200
    [message] = sink.wait_for(email)
    return message


def test_send_email_delivers_through_the_projects_server_and_the_outbox_says_sent(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    [(user_id, email)] = create_users(http, project, 1)

    r = send_html(http, project, [user_id])
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"user_id": user_id}]}

    [message] = sink.wait_for(email)
    assert message["subject"] == "Hello"
    assert message["from"] == "Project Mail <hello@project.test>"
    assert message["mail_from"] == "hello@project.test"
    assert "Hello there" in message["html"]
    assert "Hello there" in message["text"]

    [item] = wait_status(http, project, "sent", 1)
    assert item["to"] == {"type": "user-primary-email", "user_id": user_id}
    assert item["recipient"] == email
    assert item["subject"] == "Hello"
    assert item["simple_status"] == "ok"
    assert item["attempt_count"] == 1
    assert item["smtp_response"].startswith("250")
    assert item["sent_at_millis"] >= item["created_at_millis"]
    assert message["message_id"] == f"<{item['id']}@project.test>"
    assert outbox_item(http, project, item["id"]) == item
    # upstream's sent entry (email-outbox.ts)
    assert set(item) >= OUTBOX_BASE_KEYS
    flags = ("is_paused", "has_rendered", "has_delivered", "can_have_delivery_info")
    assert [item[k] for k in flags] == [False, True, True, False]  # SMTP tells of no opens
    assert item["started_sending_at_millis"] == item["delivered_at_millis"]
    assert item["delivered_at_millis"] == item["sent_at_millis"]
    assert (item["send_retries"], item["send_attempt_errors"]) == (0, None)
    assert item["created_with"] == "programmatic-call"
    assert item["email_programmatic_call_template_id"] is None  # literal HTML, no template
    assert [i["id"] for i in outbox(http, project, simple_status="ok")] == [item["id"]]
    assert outbox(http, project, status="sent", simple_status="in-progress") == []


def test_send_email_needs_a_custom_server_and_valid_input(
    http: httpx.Client, project: Project, make_project: MakeProject, make_sink: Any
) -> None:
    [(user_id, _)] = create_users(http, project, 1)
    assert_known_error(send_html(http, project, [user_id]), "REQUIRES_CUSTOM_EMAIL_SERVER", 400)

    custom = make_project(custom_server_config(make_sink()))
    [(user_id, _)] = create_users(http, custom, 1)
    headers = custom.headers("server")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"user_ids": [user_id], "all_users": True, "html": "x", "subject": "s"}, "SCHEMA_ERROR"),
        ({"user_ids": [user_id]}, "SCHEMA_ERROR"),
        ({"user_ids": [user_id], "html": "<p>x</p>"}, "SCHEMA_ERROR"),  # html needs a subject
        ({"user_ids": [user_id], "draft_id": "d"}, "SCHEMA_ERROR"),
        ({"user_ids": ["nope"], "html": "x", "subject": "s"}, "SCHEMA_ERROR"),
        ({"user_ids": [user_id], "template_id": "password_reset"}, "SCHEMA_ERROR"),  # variables
        ({"user_ids": [user_id], "html": "x", "subject": "s", "bogus": 1}, "SCHEMA_ERROR"),
    ]
    for body, code in cases:
        assert_known_error(
            http.post("/api/v1/emails/send-email", headers=headers, json=body), code, 400
        )
    missing = str(uuid.uuid4())
    assert_known_error(
        send_html(http, custom, [missing]), "USER_ID_DOES_NOT_EXIST", 400, {"user_id": missing}
    )
    unknown_template = http.post(
        "/api/v1/emails/send-email",
        headers=headers,
        json={"user_ids": [user_id], "template_id": "no_such_template"},
    )
    assert unknown_template.status_code == 404
    client = http.post(
        "/api/v1/emails/send-email",
        headers=custom.headers(),
        json={"user_ids": [user_id], "html": "x", "subject": "s"},
    )
    assert_known_error(client, "INSUFFICIENT_ACCESS_TYPE", 401)
    assert outbox(http, custom) == []


@pytest.mark.parametrize(
    ("reply", "attempts"),
    [
        # A temporary refusal is retried, up to STACK_EMAIL_MAX_ATTEMPTS (3 in the tests).
        pytest.param("451 4.7.1 Greylisted, try again later", 3, id="temporary-retried"),
        pytest.param("550 5.1.1 No such mailbox", 1, id="permanent-fails-at-once"),
    ],
)
def test_a_refused_recipient_fails_with_the_servers_reason(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    mail_worker: WorkerProcess,
    reply: str,
    attempts: int,
) -> None:
    sink, project = own_server
    sink.behave(rcpt_reply=reply)
    item = failed_send(http, project)  # stored "failed"; upstream's names on the wire:
    assert (item["status"], item["simple_status"]) == ("server-error", "error")
    assert item["attempt_count"] == attempts
    assert reply in item["error"]
    assert "RCPT TO" in item["error"]
    assert item["server_error"] == item["error"]
    assert item["error_at_millis"] == item["finished_at_millis"]
    assert sink.state()["refused"] == attempts
    assert sink.state()["received"] == 0


def test_unreachable_server_is_retried_then_failed(
    http: httpx.Client, make_project: MakeProject, mail_worker: WorkerProcess
) -> None:
    port = free_port()  # nothing listens there
    project = make_project(
        {
            "emails.server": {
                "isShared": False,
                "host": "127.0.0.1",
                "port": port,
                "senderEmail": "x@project.test",
            }
        }
    )
    item = failed_send(http, project)
    assert item["attempt_count"] == 3
    assert f"127.0.0.1:{port}" in item["error"]
    assert "connect" in item["error"]


def test_unusable_server_settings_fail_with_a_clear_reason(
    http: httpx.Client, make_project: MakeProject, mail_worker: WorkerProcess
) -> None:
    project = make_project({"emails.server": {"isShared": False, "host": "127.0.0.1"}})
    item = failed_send(http, project)
    assert "host, port and senderEmail" in item["error"]


def test_starttls_with_login(
    http: httpx.Client,
    make_project: MakeProject,
    make_sink: Any,
    tls_files: TlsFiles,
    mail_worker: WorkerProcess,
) -> None:
    sink: MailSink = make_sink(
        *tls_files.sink_args("--require-starttls", "--auth", "mailer:s3cret-pass")
    )
    project = make_project(custom_server_config(sink, username="mailer", password="s3cret-pass"))
    message = delivered_send(http, project, sink)
    assert message["tls"] is True
    assert message["authenticated_as"] == "mailer"

    wrong = make_project(custom_server_config(sink, username="mailer", password="wrong"))
    item = failed_send(http, wrong)
    assert item["attempt_count"] == 1
    assert "535" in item["error"]


def test_implicit_tls(
    http: httpx.Client,
    make_project: MakeProject,
    make_sink: Any,
    tls_files: TlsFiles,
    mail_worker: WorkerProcess,
) -> None:
    sink: MailSink = make_sink(*tls_files.sink_args("--implicit-tls"))
    project = make_project(custom_server_config(sink, secure=True))
    assert delivered_send(http, project, sink)["tls"] is True


def test_untrusted_certificate_is_a_permanent_failure(
    http: httpx.Client, make_project: MakeProject, make_sink: Any, tmp_path: Any,
    mail_worker: WorkerProcess,
) -> None:  # fmt: skip
    stranger = make_certificate(tmp_path, "stranger")
    sink: MailSink = make_sink(*stranger.sink_args("--implicit-tls"))
    project = make_project(custom_server_config(sink, secure=True))
    item = failed_send(http, project)
    assert item["attempt_count"] == 1
    assert "not trusted" in item["error"]
    assert sink.state()["received"] == 0


def test_a_burst_reuses_connections(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    users = create_users(http, project, 20)
    assert send_html(http, project, [u for u, _ in users]).status_code == 200
    wait_until(lambda: sink.state()["received"] == 20, what="20 messages")
    # 4 worker threads: at most one connection each, not one per message.
    assert sink.state()["sessions"] <= 4
    assert {m["rcpt_tos"][0] for m in sink.messages()} == {e for _, e in users}


def test_a_redelivered_wakeup_never_sends_twice(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    migrated_database: str,
    mail_worker: WorkerProcess,
) -> None:
    sink, project = own_server
    [(user_id, email)] = create_users(http, project, 1)
    send_html(http, project, [user_id])
    [item] = wait_status(http, project, "sent", 1)

    jobs = JobQueue.from_settings(Settings(**settings_env(migrated_database)))  # type: ignore[arg-type]
    try:
        for _ in range(5):
            jobs.send_now(SEND_EMAIL, item["id"])
    finally:
        jobs.close()
    marker_user, marker_email = create_users(http, project, 1)[0]
    send_html(http, project, [marker_user])  # queued after the five: done once they are
    sink.wait_for(marker_email)
    assert len(sink.messages(email)) == 1
    assert outbox_item(http, project, item["id"])["attempt_count"] == 1


def test_scheduled_email_waits_for_its_time(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    [(user_id, email)] = create_users(http, project, 1)
    at = int(time.time() * 1000) + 2500
    send_html(http, project, [user_id], scheduled_at_millis=at)
    [item] = outbox(http, project)
    assert item["status"] == "scheduled"  # upstream's name for a row waiting for its time
    assert item["scheduled_at_millis"] == at
    time.sleep(1)
    assert sink.messages(email) == []
    [message] = sink.wait_for(email)
    assert message["received_at"] * 1000 >= at - 50


def test_outbox_lists_newest_first_with_pagination_and_status_filter(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess,
    project: Project,
) -> None:  # fmt: skip
    _sink, custom = own_server
    users = create_users(http, custom, 3)
    for user_id, _ in users:
        send_html(http, custom, [user_id])
    wait_status(http, custom, "sent", 3)

    r = http.get("/api/v1/emails/outbox", headers=custom.headers("admin"), params={"limit": 2})
    page = r.json()
    assert page["is_paginated"] is True
    assert len(page["items"]) == 2
    cursor = page["pagination"]["next_cursor"]
    rest = http.get(
        "/api/v1/emails/outbox",
        headers=custom.headers("admin"),
        params={"limit": 2, "cursor": cursor},
    ).json()
    assert rest["items"][0]["id"] == cursor
    ids = [i["id"] for i in page["items"]] + [i["id"] for i in rest["items"]]
    assert len(set(ids)) == 3
    created = [i["created_at_millis"] for i in page["items"] + rest["items"]]
    assert created == sorted(created, reverse=True)
    assert outbox(http, custom, status="failed") == []

    bad = http.get(
        "/api/v1/emails/outbox", headers=custom.headers("server"), params={"status": "lost"}
    )
    assert_known_error(bad, "SCHEMA_ERROR", 400)
    # Another project's keys do not see these rows.
    other = http.get(f"/api/v1/emails/outbox/{ids[0]}", headers=project.headers("server"))
    assert other.status_code == 404
    assert outbox(http, project) == [] or all(i["id"] not in ids for i in outbox(http, project))


def test_outbox_content_is_sealed_at_rest_and_dropped_once_sent(
    http: httpx.Client, project: Project, migrated_database: str, mail_worker: WorkerProcess,
    mail_sink: MailSink,
) -> None:  # fmt: skip
    email = unique_email("sealed")
    http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"primary_email": email, "primary_email_auth_enabled": True, "password": "pw-123456"},
    )
    http.post(
        "/api/v1/auth/password/send-reset-code",
        headers=project.headers(),
        json={"email": email, "callback_url": "http://localhost:3000/reset"},
    )
    [message] = mail_sink.wait_for(email)
    link = next(line for line in message["text"].splitlines() if "code=" in line).strip()
    with psycopg.connect(migrated_database) as conn:
        row = conn.execute(
            "SELECT status, content_sealed FROM email_outbox WHERE recipient = %s", (email,)
        ).fetchone()
        assert row is not None
        assert row[0] == "sent"
        assert row[1] is None
        # The code itself is stored only as a hash.
        codes = conn.execute(
            "SELECT count(*) FROM verification_codes WHERE data->>'email' = %s", (email,)
        ).fetchone()
        assert codes == (1,)
        dump = conn.execute(
            "SELECT count(*) FROM verification_codes WHERE code_hash::text LIKE %s",
            (f"%{link[-45:]}%",),
        ).fetchone()
        assert dump == (0,)


def test_cron_endpoint_needs_the_bearer_secret(http: httpx.Client) -> None:
    path = "/api/latest/internal/email-queue-step"
    assert http.get(path).status_code == 401
    assert http.get(path, headers={"authorization": "Bearer wrong"}).status_code == 401
    ok = http.get(path, headers={"authorization": f"Bearer {CRON_SECRET}"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"ok": True}
    v1 = http.get(
        "/api/v1/internal/email-queue-step",
        headers={"authorization": f"Bearer {CRON_SECRET}"},
        params={"only_one_step": "true"},
    )
    assert v1.json() == {"ok": True}


def test_recipient_deleted_before_sending_is_skipped_with_the_reason(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    [(gone, _), (no_email, _)] = create_users(http, project, 2)
    r = http.patch(
        f"/api/v1/users/{no_email}", headers=project.headers("server"), json={"primary_email": None}
    )
    assert r.status_code == 200, r.text
    send_html(http, project, [gone, no_email], scheduled_at_millis=int(time.time() * 1000) + 1500)
    assert (
        http.delete(f"/api/v1/users/{gone}", headers=project.headers("server")).status_code == 200
    )

    items = wait_status(http, project, "skipped", 2)
    reasons = {i["to"]["user_id"]: i["skipped_reason"] for i in items}
    assert reasons == {gone: "USER_ACCOUNT_DELETED", no_email: "USER_HAS_NO_PRIMARY_EMAIL"}
    assert all(i["simple_status"] == "ok" and i["finished_at_millis"] for i in items)
    # upstream's skipped entry: when, and details (none here)
    assert all(i["skipped_at_millis"] == i["finished_at_millis"] for i in items)
    assert all(i["skipped_details"] == {} and not i["has_delivered"] for i in items)
    assert sink.state()["received"] == 0
