"""GET /internal/emails: the dashboard's list of a project's mail, newest first, paged, with each
email's status, recipient, subject, sending time and error."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, send_email, wait_until


def listing(http: httpx.Client, project: Project, **params: Any) -> dict[str, Any]:
    r = http.get("/api/v1/internal/emails", headers=project.headers("admin"), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_sent_and_failed_mail_listed_newest_first_with_paging(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    addresses = [unique_email("listed") for _ in range(3)]
    users = [create_user(http, project, primary_email=a)["id"] for a in addresses]
    for n, user_id in enumerate(users):
        r = send_email(http, project, [user_id], html=f"<p>{n}</p>", subject=f"Mail {n}")
        assert r.status_code == 200, r.text
        sink.wait_for(addresses[n])
    sink.behave(rcpt_reply="550 5.1.1 No such mailbox")
    refused = unique_email("refused")
    refused_user = create_user(http, project, primary_email=refused)["id"]
    assert (
        send_email(http, project, [refused_user], html="<p>x</p>", subject="Bounce").status_code
        == 200
    )

    def settled() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = listing(http, project)["items"]
        return items if [i["status"] for i in items][:1] == ["server-error"] else None

    items = wait_until(settled, what="the refused mail to fail")
    assert [i["subject"] for i in items] == ["Bounce", "Mail 2", "Mail 1", "Mail 0"]
    failed, last_sent = items[0], items[1]
    assert failed["to"] == [refused]
    assert failed["simple_status"] == "error"
    assert "550 5.1.1 No such mailbox" in failed["error"]
    assert last_sent["to"] == [addresses[2]]
    assert last_sent["recipient"] == addresses[2]
    assert (last_sent["status"], last_sent["simple_status"], last_sent["error"]) == (
        "sent",
        "ok",
        None,
    )
    assert last_sent["sent_at_millis"] >= last_sent["created_at_millis"]
    assert set(last_sent) >= {"id", "subject", "sent_at_millis", "to", "error"}  # upstream's

    first = listing(http, project, limit=2)
    assert [i["id"] for i in first["items"]] == [items[0]["id"], items[1]["id"]]
    assert first["is_paginated"] is True
    rest = listing(http, project, limit=2, cursor=first["pagination"]["next_cursor"])
    assert [i["id"] for i in rest["items"]] == [items[2]["id"], items[3]["id"]]
    assert rest["pagination"]["next_cursor"] is None


def test_only_an_admin_lists_and_only_its_own_projects_mail(
    http: httpx.Client, own_server: tuple[MailSink, Project], project: Project
) -> None:
    _, own = own_server
    user_id = create_user(http, own, primary_email=unique_email())["id"]
    assert send_email(http, own, [user_id], html="<p>x</p>", subject="Mine").status_code == 200
    assert [i["subject"] for i in listing(http, own)["items"]] == ["Mine"]
    assert listing(http, project)["items"] == []
    for access in ("server", "client"):
        r = http.get("/api/v1/internal/emails", headers=own.headers(access))
        assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)
    for bad in ({"limit": 0}, {"limit": 201}, {"cursor": "nope"}):
        r = http.get("/api/v1/internal/emails", headers=own.headers("admin"), params=bad)
        assert_known_error(r, "SCHEMA_ERROR", 400)
