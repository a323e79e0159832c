"""Outbox entries in upstream's shape (email-outbox.ts): a scheduled entry, and the status /
simple_status filters. (Sent, skipped and failed entries: test_delivery.py.)"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error
from tests.conftest import Project
from tests.emails.test_delivery import MakeProject, create_users, outbox, send_html
from tests.mail import OUTBOX_BASE_KEYS, custom_server_config


def statuses(http: httpx.Client, project: Project, **query: str) -> list[str]:
    return [item["status"] for item in outbox(http, project, **query)]


def test_a_scheduled_email_is_scheduled_until_its_time(
    http: httpx.Client, make_project: MakeProject, make_sink: Any
) -> None:
    project = make_project(custom_server_config(make_sink()))
    [(to, _)] = create_users(http, project, 1)
    tomorrow = int(time.time() * 1000) + 86_400_000
    assert send_html(http, project, [to], scheduled_at_millis=tomorrow).status_code == 200
    [item] = outbox(http, project, status="scheduled")
    assert set(item) >= OUTBOX_BASE_KEYS
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
