"""POST /internal/failed-emails-digest: each project's admins are emailed the project's failed mail
since the last digest, at most once a day, through the internal project's outbox."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.api.helpers import create_user, unique_email
from tests.conftest import ADMIN_EMAIL, CRON_SECRET, Project
from tests.mail import MailSink, WorkerProcess, send_email, wait_until

PATH = "/api/v1/internal/failed-emails-digest"
CRON = {"authorization": f"Bearer {CRON_SECRET}"}


def digest(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    r = http.post(PATH, headers=CRON, params=params)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    entries: list[dict[str, Any]] = r.json()["failed_emails_by_tenancy"]
    return entries


def entry_of(entries: list[dict[str, Any]], project: Project) -> dict[str, Any] | None:
    return next((e for e in entries if e["project_id"] == project.id), None)


def fail_mail_to(http: httpx.Client, project: Project, count: int) -> list[str]:
    """Send ``count`` new users a mail that the project's server refuses; wait until failed."""
    addresses = [unique_email("bounced") for _ in range(count)]
    users = [create_user(http, project, primary_email=a)["id"] for a in addresses]
    assert (
        send_email(http, project, users, html="<p>x</p>", subject="Weekly news").status_code == 200
    )

    def all_failed() -> bool:
        items = http.get(
            "/api/v1/emails/outbox",
            headers=project.headers("server"),
            params={"status": "server-error"},
        ).json()["items"]
        return {i["recipient"] for i in items} >= set(addresses)

    wait_until(all_failed, what=f"{count} failed mail(s)")
    return addresses


def digests_for(sink: MailSink, project: Project) -> list[dict[str, Any]]:
    return [m for m in sink.messages(ADMIN_EMAIL) if project.id[:8] in m["subject"]]


def test_admins_get_one_digest_a_day_of_the_failures_since_the_last(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    mail_sink: MailSink,
    mail_worker: WorkerProcess,
    migrated_database: str,
) -> None:
    sink, project = own_server
    sink.behave(rcpt_reply="550 5.1.1 No such mailbox")
    bounced = fail_mail_to(http, project, 2)

    for headers in ({}, {"authorization": "Bearer wrong"}):
        assert http.post(PATH, headers=headers).status_code == 401

    # A dry run reports without sending or moving the watermark.
    dry = entry_of(digest(http, dry_run="true"), project)
    assert dry is not None
    assert dry["failed_count"] == 2
    assert sorted(to for e in dry["emails"] for to in e["to"]) == sorted(bounced)
    assert {e["subject"] for e in dry["emails"]} == {"Weekly news"}

    entry = entry_of(digest(http), project)
    assert entry == dry
    assert ADMIN_EMAIL in entry["tenant_owner_emails"]
    assert entry["tenant_owner_email"] == entry["tenant_owner_emails"][0]
    assert entry["tenancy_id"] == project.tenancy_id
    [mail] = wait_until(lambda: digests_for(mail_sink, project), what="the digest")
    assert mail["subject"] == f"Failed emails digest: Test project {project.id[:8]}"
    for address in bounced:
        assert address in mail["html"]
    assert "550 5.1.1 No such mailbox" in mail["html"]
    assert f"/projects/{project.id}/emails" in mail["html"]

    # The same day: nothing more, even with a new failure.
    fail_mail_to(http, project, 1)
    assert entry_of(digest(http), project) is None
    assert entry_of(digest(http, dry_run="true"), project) is None

    # A day later, the next digest names only what failed since the last one.
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "UPDATE email_sending_state SET digest_sent_at = digest_sent_at - interval '1 day'"
            " WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
    later = entry_of(digest(http), project)
    assert later is not None
    assert later["failed_count"] == 1
    assert not set(later["emails"][0]["to"]) & set(bounced)
    wait_until(lambda: len(digests_for(mail_sink, project)) == 2, what="the second digest")
    assert entry_of(digest(http), project) is None


def test_projects_without_failures_get_no_digest(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    address = unique_email()
    user_id = create_user(http, project, primary_email=address)["id"]
    assert send_email(http, project, [user_id], html="<p>x</p>", subject="Fine").status_code == 200
    sink.wait_for(address)
    assert entry_of(digest(http, dry_run="true"), project) is None
