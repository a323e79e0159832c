"""Outbox entries in upstream's shape (email-outbox.ts): its statuses and their fields, and the
status / simple_status filters. (Skipped entries with their reason codes, and server errors:
test_delivery.py.)"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error
from tests.conftest import Project
from tests.emails.test_delivery import MakeProject, create_users, outbox, send_html, wait_status
from tests.mail import MailSink, WorkerProcess, custom_server_config

# Every entry, whatever its status (upstream's emailOutboxBaseSchema, less the withheld content).
BASE = {
    "id", "created_at_millis", "updated_at_millis", "theme_id", "to",
    "skip_deliverability_check", "scheduled_at_millis", "created_with", "email_draft_id",
    "email_programmatic_call_template_id", "send_retries", "next_send_retry_at_millis",
    "send_attempt_errors", "status", "simple_status", "is_paused", "has_rendered",
    "has_delivered",
}  # fmt: skip


def statuses(http: httpx.Client, project: Project, **query: str) -> list[str]:
    return [item["status"] for item in outbox(http, project, **query)]


def test_a_sent_entry_carries_upstreams_fields(
    http: httpx.Client, make_project: MakeProject, make_sink: Any, mail_worker: WorkerProcess
) -> None:
    sink: MailSink = make_sink()
    project = make_project(custom_server_config(sink))
    [(to, _)] = create_users(http, project, 1)
    assert send_html(http, project, [to]).status_code == 200

    [sent] = wait_status(http, project, "sent", 1)
    assert set(sent) >= BASE
    flags = ("simple_status", "is_paused", "has_rendered", "has_delivered")
    assert [sent[k] for k in flags] == ["ok", False, True, True]
    assert sent["can_have_delivery_info"] is False  # plain SMTP reports no opens or clicks
    assert sent["delivered_at_millis"] == sent["sent_at_millis"]
    assert sent["started_sending_at_millis"] <= sent["delivered_at_millis"]
    assert sent["subject"] == "Hello"
    assert (sent["send_retries"], sent["send_attempt_errors"]) == (0, None)
    assert sent["created_with"] == "programmatic-call"
    assert sent["email_programmatic_call_template_id"] is None  # literal HTML, no template

    assert statuses(http, project, simple_status="ok") == ["sent"]
    assert statuses(http, project, simple_status="error") == []
    assert statuses(http, project, status="server-error") == []
    assert statuses(http, project, status="sent", simple_status="in-progress") == []


def test_a_scheduled_email_is_scheduled_until_its_time(
    http: httpx.Client, make_project: MakeProject, make_sink: Any
) -> None:
    project = make_project(custom_server_config(make_sink()))
    [(to, _)] = create_users(http, project, 1)
    tomorrow = int(time.time() * 1000) + 86_400_000
    assert send_html(http, project, [to], scheduled_at_millis=tomorrow).status_code == 200
    [item] = outbox(http, project, status="scheduled")
    assert (item["status"], item["simple_status"]) == ("scheduled", "in-progress")
    assert item["has_delivered"] is False
    assert (item["has_rendered"], item["subject"]) == (True, "Hello")  # literal HTML and subject
    assert statuses(http, project, status="queued") == []
    assert statuses(http, project, simple_status="in-progress") == ["scheduled"]


@pytest.mark.parametrize("query", [{"status": "delivered"}, {"simple_status": "in_progress"}])
def test_unknown_statuses_are_schema_errors(
    http: httpx.Client, project: Project, query: dict[str, str]
) -> None:
    r = http.get("/api/v1/emails/outbox", headers=project.headers("server"), params=query)
    assert_known_error(r, "SCHEMA_ERROR", 400)
