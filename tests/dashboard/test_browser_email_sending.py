"""The Sent emails page in a real browser: "Send a test email" goes out at once through the
project's own SMTP server (a real sink on loopback) and the page shows the server's verdict, a
refused connection included; mail the worker delivers through the outbox is listed with its
status, recipient, subject and time."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import create_user
from tests.conftest import ADMIN_EMAIL, ApiServer, running_api
from tests.dashboard.conftest import (
    DashboardServer,
    open_page,
    screenshot,
    sign_in,
    start_dashboard,
)
from tests.factories import free_port, stop_process
from tests.mail import (
    PRIVATE_TARGETS_ENV,
    MailSink,
    WorkerProcess,
    custom_server_config,
    send_email,
    wait_until,
)


@pytest.fixture(scope="module")
def mail_site(
    migrated_database: str, mail_sink: MailSink, mail_worker: WorkerProcess
) -> Iterator[tuple[ApiServer, DashboardServer]]:
    """(API, dashboard URL): an API whose projects may send through a server on this machine
    (the sink), queueing for the session's worker, which delivers to the same sink."""
    with running_api(migrated_database, **PRIVATE_TARGETS_ENV) as api:
        dashboard = start_dashboard(api)
        try:
            yield api, dashboard
        finally:
            stop_process(dashboard.process)


def _address(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(5)}@example.com"


def test_send_a_test_email_see_it_arrive_and_the_sent_list(
    browser: Any,
    mail_site: tuple[ApiServer, DashboardServer],
    mail_sink: MailSink,
    make_project: Any,
) -> None:
    api, dashboard = mail_site
    project = make_project(custom_server_config(mail_sink))
    with open_page(browser, dashboard) as page:
        sign_in(page)
        page.goto(f"/projects/{project.id}/emails")
        page.get_by_role("navigation", name="Emails").get_by_role(
            "link", name="Sent emails"
        ).click()
        page.wait_for_url(f"**/projects/{project.id}/emails/sent")
        assert "No emails yet." in page.locator("main").inner_text()
        recipient_field = page.get_by_label("To", exact=True)
        assert recipient_field.input_value() == ADMIN_EMAIL  # the signed-in admin's, by default

        to = _address("dash-test")
        recipient_field.fill(to)
        page.get_by_role("button", name="Send test email").click()
        flash = page.locator(".flash-ok").inner_text()
        assert f"Test email sent to {to}: the email server accepted it." in flash
        [message] = mail_sink.wait_for(to)
        assert message["subject"].startswith("Test email from ")
        assert "It works" in message["text"]
        screenshot(page, "emails_06_test_email_sent")

        # Mail sent through the outbox (send-email, delivered by the worker) is listed.
        with api.client() as http:
            user_address = _address("dash-user")
            user = create_user(http, project, primary_email=user_address)
            r = send_email(http, project, [user["id"]], html="<p>Hi</p>", subject="Listed mail")
            assert r.status_code == 200, r.text
        mail_sink.wait_for(user_address)

        def listed_as_sent() -> bool:
            page.reload()
            row = page.locator("tr.sent-email").filter(has_text=user_address)
            return row.count() == 1 and "sent" in row.locator(".badge").inner_text()

        wait_until(listed_as_sent, 30, interval=0.5, what="the mail listed as sent")
        row = page.locator("tr.sent-email").filter(has_text=user_address)
        assert "Listed mail" in row.inner_text()
        assert row.locator("td").nth(3).inner_text() != "—"  # when it was sent
        screenshot(page, "emails_07_sent_list")


def test_a_test_email_the_server_refuses_shows_why(
    browser: Any, mail_site: tuple[ApiServer, DashboardServer], make_project: Any
) -> None:
    _, dashboard = mail_site
    closed = {
        "emails.server": {
            "isShared": False,
            "provider": "smtp",
            "host": "127.0.0.1",
            "port": free_port(),  # nothing listens there
            "senderEmail": "hello@project.test",
            "senderName": "Project Mail",
        }
    }
    project = make_project(closed)
    with open_page(browser, dashboard) as page:
        sign_in(page)
        page.goto(f"/projects/{project.id}/emails/sent")
        to = _address("dash-refused")
        page.get_by_label("To", exact=True).fill(to)
        page.get_by_role("button", name="Send test email").click()
        flash = page.locator(".flash-error").inner_text()
        assert f"Test email to {to} not sent:" in flash
        assert "127.0.0.1" in flash or "refused" in flash.lower(), flash
        screenshot(page, "emails_08_test_email_refused")
