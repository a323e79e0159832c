"""The Webhooks page in a real browser: add an endpoint (secret shown once), send a test event,
see a real event's attempt, disable, rotate the secret, delete. Deliveries go to a verifying
receiver on loopback, through an API and a worker that allow private targets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import create_user
from tests.conftest import ApiServer, running_api
from tests.dashboard.conftest import (
    DashboardServer,
    screenshot,
    sign_in,
    start_dashboard,
)
from tests.dashboard.helpers import admin_project
from tests.factories import stop_process
from tests.mail import start_worker, wait_until
from tests.mail_fixtures import delete_namespace
from tests.webhooks.support import HOOKS_ENV, receiver

__all__ = ["receiver"]  # the fixture


@pytest.fixture(scope="module")
def hooks_site(migrated_database: str, session_redis: str) -> Iterator[tuple[ApiServer, str]]:
    """(API, dashboard URL): an API, worker and dashboard with webhooks to loopback allowed."""
    env = {**HOOKS_ENV, "STACK_QUEUE_NAMESPACE": f"hooks_dash_{secrets.token_hex(4)}"}
    worker = start_worker(migrated_database, None, **env)
    try:
        with running_api(migrated_database, **env) as api:
            dashboard: DashboardServer = start_dashboard(api)
            try:
                yield api, dashboard.url
            finally:
                stop_process(dashboard.process)
    finally:
        worker.stop()
        delete_namespace(session_redis, env["STACK_QUEUE_NAMESPACE"])


def test_add_an_endpoint_test_it_watch_an_event_arrive_then_disable_rotate_delete(
    browser: Any, hooks_site: tuple[ApiServer, str], receiver: Any
) -> None:
    api, dashboard_url = hooks_site
    with api.client() as http:
        project = admin_project(http, "Webhooks page")
        # The receiver is plain http:// on loopback: a project for local development allows it.
        r = http.patch(
            "/api/v1/internal/projects/current",
            headers=project.headers("admin"),
            json={"config": {"allow_localhost": True}},
        )
        assert r.status_code == 200, r.text
    context = browser.new_context(base_url=dashboard_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page)
        page.goto(f"/projects/{project.id}")
        page.get_by_role("link", name="Webhooks", exact=True).click()
        page.wait_for_url(f"**/projects/{project.id}/webhooks")
        assert "No endpoints yet." in page.locator("main").inner_text()

        page.get_by_label("URL").fill(receiver.url("/hook"))
        page.get_by_label("Description").fill("Local receiver")
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#new-secret").input_value()
        assert secret.startswith("whsec_")
        screenshot(page, "webhooks_01_secret_shown_once")
        receiver.secret("/hook", secret)
        row = page.locator("tr.endpoint")
        assert row.count() == 1
        assert receiver.url("/hook") in row.inner_text()

        page.goto(f"/projects/{project.id}/webhooks")  # the secret is gone for good
        assert page.locator("#new-secret").count() == 0
        page.get_by_role("button", name="Send test event").click()
        assert "Test event delivered" in page.locator(".flash-ok").inner_text()
        [test] = receiver.received("/hook")
        assert test.verified
        assert test.json()["type"] == "stack.test"

        with api.client() as http:
            user = create_user(http, project)
        wait_until(lambda: len(receiver.received("/hook")) == 2, what="the user.created event")
        event = receiver.received("/hook")[1]
        assert event.verified
        assert event.json()["data"]["id"] == user["id"]
        page.reload()
        attempt = page.locator("section.attempts tr.attempt").first
        assert "user.created" in attempt.inner_text()
        assert "succeeded" in attempt.inner_text()
        assert event.message_id in attempt.inner_text()
        screenshot(page, "webhooks_02_attempt_succeeded")

        page.get_by_role("button", name="Disable").click()
        assert "Endpoint disabled." in page.locator(".flash-ok").inner_text()
        assert "disabled" in page.locator("tr.endpoint .badge").inner_text()
        page.get_by_role("button", name="Rotate secret").click()
        rotated = page.locator("#new-secret").input_value()
        assert rotated.startswith("whsec_")
        assert rotated != secret
        page.get_by_role("button", name="Delete").click()
        assert "Endpoint deleted." in page.locator(".flash-ok").inner_text()
        assert "No endpoints yet." in page.locator("main").inner_text()
        screenshot(page, "webhooks_03_deleted")
    finally:
        context.close()
