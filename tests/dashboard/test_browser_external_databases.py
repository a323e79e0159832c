"""External databases on the Settings page, in a real browser: test a connection string, add the
database, let the cron's sequencer and poller hand the sync to a real worker, watch the status
table reach lag 0 while the users land in the target, then remove it.

Its own database, API, worker and dashboard: the sequencer numbers every tenancy of a database
at once, and the target is on loopback (private networks allowed, as under ``make dev``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.helpers import create_user
from tests.conftest import CRON_SECRET, ApiServer, running_api
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in, start_dashboard
from tests.dashboard.helpers import admin_project
from tests.factories import free_port, fresh_database, query_rows, stop_process
from tests.mail import start_worker, wait_until
from tests.mail_fixtures import delete_namespace, seeded_database

CRON = {"authorization": f"Bearer {CRON_SECRET}"}
SYNC = "/api/latest/internal/external-db-sync"
PASSWORD = "Dash-" + secrets.token_hex(8)


@dataclass
class SyncSite:
    api: ApiServer
    dashboard: DashboardServer


@pytest.fixture(scope="module")
def sync_site(session_redis: str) -> Iterator[SyncSite]:
    namespace = f"sync_dash_{secrets.token_hex(4)}"
    env = {"STACK_QUEUE_NAMESPACE": namespace, "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"}
    with seeded_database("authstack_sync_dash") as url:
        worker = start_worker(url, None, **env)
        try:
            with running_api(url, **env) as api:
                dashboard = start_dashboard(api)
                try:
                    yield SyncSite(api, dashboard)
                finally:
                    stop_process(dashboard.process)
        finally:
            worker.stop()
            delete_namespace(session_redis, namespace)


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def _mapping_row(page: Any, database_id: str, mapping: str) -> Any:
    return page.locator(f"#external-db-{database_id} tr[data-mapping='{mapping}']")


def test_add_test_watch_the_sync_fill_it_then_remove(browser: Any, sync_site: SyncSite) -> None:
    with sync_site.api.client() as http:
        project = admin_project(http, "External databases")
        user_ids = {create_user(http, project, display_name=f"Synced {i}")["id"] for i in range(3)}
    context = browser.new_context(
        base_url=sync_site.dashboard.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        with fresh_database("dash_target") as target:
            sign_in(page)
            page.goto(f"/projects/{project.id}/settings")
            section = page.locator("#external-databases")
            assert "No external databases yet." in section.inner_text()

            # A closed port: the test says why, without the password.
            page.get_by_label("Id", exact=True).fill("warehouse")
            closed = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/none"
            page.get_by_label("Connection string").fill(closed)
            section.get_by_role("button", name="Test connection").click()
            failed = page.locator(".flash-error").inner_text()
            assert "Connection failed" in failed
            assert "refused" in failed.lower()
            assert PASSWORD not in page.content().replace(closed, "")

            # The real target: OK, and the form still holds what was typed.
            page.get_by_label("Connection string").fill(_with_password(target))
            section.get_by_role("button", name="Test connection").click()
            assert "Connection OK" in page.locator(".flash-ok").inner_text()
            assert page.get_by_label("Id", exact=True).input_value() == "warehouse"
            screenshot(page, "external_db_01_connection_ok")
            page.get_by_role("button", name="Add database").click()
            assert "External database warehouse added" in page.locator(".flash-ok").inner_text()
            assert PASSWORD not in page.content()
            shown = page.locator("#external-db-warehouse .connection-string").inner_text()
            assert shown == "postgres://postgres:****@" + target.split("@", 1)[1]
            badge = page.locator("#external-db-warehouse .badge").first
            assert "not synced yet" in badge.inner_text()

            page.get_by_role("button", name="Test connection to warehouse").click()
            assert "warehouse: Connection OK" in page.locator(".flash-ok").inner_text()

            # What the cron does every minute.
            with sync_site.api.client() as http:
                for step in ("sequencer", "poller"):
                    r = http.get(f"{SYNC}/{step}", headers=CRON)
                    assert r.status_code == 200, r.text

            def synced() -> bool:
                page.reload()
                row = _mapping_row(page, "warehouse", "users")
                return (
                    row.locator(".lag").inner_text() == "0"
                    and row.locator(".last-synced").inner_text().isdigit()
                )

            wait_until(synced, 60, interval=1, what="the users mapping to be synced")
            target_ids = {str(r[0]) for r in query_rows(target, "SELECT id FROM users")}
            assert target_ids == user_ids
            assert "in sync" in badge.inner_text()
            assert "none" in _mapping_row(page, "warehouse", "users").inner_text()
            screenshot(page, "external_db_02_synced")

            page.get_by_role("button", name="Remove warehouse").click()
            assert "External database warehouse removed" in page.locator(".flash-ok").inner_text()
            assert "No external databases yet." in section.inner_text()
            screenshot(page, "external_db_03_removed")
    finally:
        context.close()
