"""PATCH /emails/outbox/{id}: cancel, pause, resume, reschedule and edit an email before it is
sent, against the real worker and sink; EMAIL_NOT_EDITABLE once sending has started."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, outbox_item, queue_step, send_email, wait_until

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def queue_one(
    http: httpx.Client, project: Project, *, at_ms: int | None = None, **body: Any
) -> tuple[str, str]:
    """A new user and an email to them (HTML, scheduled at ``at_ms``): (outbox id, address)."""
    email = unique_email("to")
    user_id = create_user(http, project, primary_email=email)["id"]
    body = {"html": "<p>Hello there</p>", "subject": "Hello", **body}
    if at_ms is not None:
        body["scheduled_at_millis"] = at_ms
    assert send_email(http, project, [user_id], **body).status_code == 200
    rows = http.get(
        "/api/v1/emails/outbox", headers=project.headers("server"), params={"limit": 50}
    ).json()["items"]
    [row] = [r for r in rows if r["to"].get("user_id") == user_id]
    return row["id"], email


def edit(http: httpx.Client, project: Project, outbox_id: str, **body: Any) -> httpx.Response:
    return http.patch(
        f"/api/v1/emails/outbox/{outbox_id}", headers=project.headers("server"), json=body
    )


def assert_not_editable(r: httpx.Response, outbox_id: str, status: str) -> None:
    assert_known_error(r, "EMAIL_NOT_EDITABLE", 400, {"email_id": outbox_id, "status": status})


def edited(http: httpx.Client, project: Project, outbox_id: str, **body: Any) -> dict[str, Any]:
    r = edit(http, project, outbox_id, **body)
    assert r.status_code == 200, r.text
    item: dict[str, Any] = r.json()
    return item


def test_a_cancelled_email_is_never_sent_even_with_its_wake_up_in_flight(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    due = now_ms() + 2500  # its wake-up sits in Redis, due then
    cancelled, cancelled_to = queue_one(http, project, at_ms=due)
    _, control_to = queue_one(http, project, at_ms=due)

    item = edited(http, project, cancelled, cancel=True)
    assert (item["status"], item["simple_status"]) == ("skipped", "ok")
    assert item["skipped_reason"] == "MANUALLY_CANCELLED"
    assert item["is_paused"] is False
    assert item["skipped_at_millis"] >= item["created_at_millis"]

    sink.wait_for(control_to)  # the wake-ups came due and the worker took them
    assert queue_step(http).status_code == 200  # nor does the cron step bring it back
    time.sleep(1.0)
    assert sink.messages(cancelled_to) == []
    assert outbox_item(http, project, cancelled)["status"] == "skipped"
    listed = http.get(
        "/api/v1/emails/outbox", headers=project.headers("server"), params={"status": "skipped"}
    ).json()["items"]
    assert [i["id"] for i in listed] == [cancelled]
    # Finished now: it can be neither edited nor cancelled again.
    assert_not_editable(edit(http, project, cancelled, cancel=True), cancelled, "SKIPPED")


def test_a_paused_email_waits_past_its_time_and_goes_once_resumed(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    due = now_ms() + 2500
    paused, paused_to = queue_one(http, project, at_ms=due)
    _, control_to = queue_one(http, project, at_ms=due)

    item = edited(http, project, paused, is_paused=True)
    assert (item["status"], item["simple_status"], item["is_paused"]) == (
        "paused",
        "in-progress",
        True,
    )
    assert edited(http, project, paused, is_paused=True)["status"] == "paused"  # no change

    sink.wait_for(control_to)
    assert queue_step(http).status_code == 200
    time.sleep(1.0)
    assert sink.messages(paused_to) == []
    assert outbox_item(http, project, paused)["status"] == "paused"

    resumed = edited(http, project, paused, is_paused=False)
    assert resumed["is_paused"] is False
    assert resumed["status"] in ("queued", "sending", "sent")
    [message] = sink.wait_for(paused_to)
    assert message["subject"] == "Hello"
    wait_until(lambda: outbox_item(http, project, paused)["status"] == "sent", what="sent")
    assert len(sink.messages(paused_to)) == 1


def test_reschedule_edit_content_and_recipient_before_sending(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    outbox_id, first_to = queue_one(http, project, at_ms=now_ms() + DAY_MS)
    assert outbox_item(http, project, outbox_id)["status"] == "scheduled"

    other = unique_email("moved")
    item = edited(
        http,
        project,
        outbox_id,
        tsx_source="<p>Edited body</p>",
        to={"type": "custom-emails", "emails": [other]},
        skip_deliverability_check=True,
    )
    assert item["status"] == "scheduled"
    assert item["to"] == {"type": "custom-emails", "emails": [other]}

    later = now_ms() + 2 * DAY_MS
    assert edited(http, project, outbox_id, scheduled_at_millis=later)["scheduled_at_millis"] == (
        later
    )
    time.sleep(0.5)
    assert sink.messages(other) == []

    item = edited(http, project, outbox_id, scheduled_at_millis=now_ms())  # send it now
    assert item["status"] in ("queued", "sending", "sent")
    [message] = sink.wait_for(other)
    assert "Edited body" in message["html"]
    assert sink.messages(first_to) == []
    wait_until(lambda: outbox_item(http, project, outbox_id)["status"] == "sent", what="sent")
    assert_not_editable(edit(http, project, outbox_id, is_paused=True), outbox_id, "SENT")


def test_variables_of_a_template_email_are_checked_and_used(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    variables = {"passwordResetLink": "https://app.example/reset?code=first"}
    outbox_id, to = queue_one(
        http,
        project,
        at_ms=now_ms() + DAY_MS,
        html=None,
        subject=None,
        template_id="password_reset",
        variables=variables,
    )
    # A template email's source is the project's template: only an html email takes tsx_source.
    assert_known_error(edit(http, project, outbox_id, tsx_source="<p>x</p>"), "SCHEMA_ERROR", 400)
    # The template's variables are still checked.
    assert_known_error(edit(http, project, outbox_id, variables={}), "SCHEMA_ERROR", 400)
    new_link = "https://app.example/reset?code=second"
    edited(http, project, outbox_id, variables={"passwordResetLink": new_link})
    edited(http, project, outbox_id, scheduled_at_millis=now_ms())
    [message] = sink.wait_for(to)
    assert new_link in message["text"]
    assert "code=first" not in message["text"]


def test_an_email_being_sent_cannot_be_edited(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    sink.behave(hold=True)  # the server takes its time answering DATA
    try:
        outbox_id, _ = queue_one(http, project)
        wait_until(
            lambda: outbox_item(http, project, outbox_id)["status"] == "sending", what="sending"
        )
        for body in ({"cancel": True}, {"is_paused": True}, {"scheduled_at_millis": now_ms()}):
            assert_not_editable(edit(http, project, outbox_id, **body), outbox_id, "SENDING")
    finally:
        sink.release()
    wait_until(lambda: outbox_item(http, project, outbox_id)["status"] == "sent", what="sent")


def test_bad_edits_are_refused_and_change_nothing(
    http: httpx.Client, own_server: tuple[MailSink, Project], project: Project
) -> None:
    _, own = own_server
    outbox_id, _ = queue_one(http, own, at_ms=now_ms() + DAY_MS)
    before = outbox_item(http, own, outbox_id)
    cases: list[dict[str, Any]] = [
        {"cancel": False},
        {"theme_id": "dark"},
        {"to": {"type": "custom-emails", "emails": ["a@example.com", "b@example.com"]}},
        {"to": {"type": "custom-emails", "emails": ["not an address"]}},
        {"to": {"type": "user-primary-email"}},
        {"to": {"type": "custom-emails", "user_id": str(uuid.uuid4()), "emails": ["a@b.co"]}},
        {"scheduled_at_millis": now_ms() + 400 * DAY_MS},
        {"is_paused": "yes"},
        {"bogus": 1},
    ]
    for body in cases:
        assert_known_error(edit(http, own, outbox_id, **body), "SCHEMA_ERROR", 400)
    missing_user = str(uuid.uuid4())
    assert_known_error(
        edit(http, own, outbox_id, to={"type": "user-primary-email", "user_id": missing_user}),
        "USER_ID_DOES_NOT_EXIST",
        400,
    )
    assert outbox_item(http, own, outbox_id) == before

    unknown = edit(http, own, str(uuid.uuid4()), cancel=True)
    assert unknown.status_code == 404
    assert_known_error(edit(http, own, "not-a-uuid", cancel=True), "SCHEMA_ERROR", 400)
    # Another project's key does not reach it; a client key may not edit at all.
    assert edit(http, project, outbox_id, cancel=True).status_code == 404
    client = http.patch(
        f"/api/v1/emails/outbox/{outbox_id}", headers=own.headers(), json={"cancel": True}
    )
    assert_known_error(client, "INSUFFICIENT_ACCESS_TYPE", 401)
    assert outbox_item(http, own, outbox_id) == before
