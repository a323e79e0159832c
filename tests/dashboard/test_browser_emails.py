"""The Emails pages in a real browser: a template edited with a live preview (the unsaved source
rendered by the API into a sandboxed iframe whose document carries its own CSP), then saved."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import ApiServer
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import admin_project


def _templates(api: ApiServer, project: Any) -> dict[str, dict[str, Any]]:
    with api.client() as http:
        r = http.get("/api/v1/internal/email-templates", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    return {t["id"]: t for t in r.json()["items"]}


def test_edit_a_template_and_save_it(page: Any, api: ApiServer, dashboard: DashboardServer) -> None:
    with api.client() as http:
        project = admin_project(http, "Email templates")
    sign_in(page)
    page.goto(f"/projects/{project.id}")
    page.get_by_role("link", name="Emails", exact=True).click()
    page.wait_for_url(f"**/projects/{project.id}/emails")
    rows = page.locator("tr.email-template")
    assert rows.count() == 5
    page.get_by_role("link", name="Edit Password reset").click()
    page.wait_for_url(f"**/emails/templates/password_reset")
    page.get_by_label("Subject").fill("Reset it now, {{ userDisplayName }}")
    page.get_by_role("button", name="Save").click()
    assert "Template saved." in page.locator(".flash-ok").inner_text()
    screenshot(page, "emails_01_template_saved")
    saved = _templates(api, project)["password_reset"]
    assert saved["subject"] == "Reset it now, {{ userDisplayName }}"
    assert saved["is_overridden"] is True


def test_every_emails_form_needs_the_csrf_token(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Email CSRF")
    sign_in(page)
    base = f"/projects/{project.id}/emails"
    some_id = str(uuid.uuid4())
    posts = [
        "/templates/create",
        "/templates/password_reset/save",
        "/templates/password_reset/reset",
        "/templates/password_reset/preview",
        "/drafts/create",
        f"/drafts/{some_id}/save",
        f"/drafts/{some_id}/delete",
        f"/drafts/{some_id}/preview",
        "/themes/create",
        "/themes/select",
        f"/themes/{some_id}/save",
        f"/themes/{some_id}/preview",
        "/sent/test",
    ]
    for path in posts:
        for token in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}):
            form = {"back": base, "display_name": "Forged", "subject": "Forged", **token}
            response = page.request.post(base + path, form=form, max_redirects=0)
            assert response.status == 403, (path, token)
    # Nothing changed: the built-in template is as it was, no template was added.
    templates = _templates(api, project)
    assert len(templates) == 5
    assert templates["password_reset"]["is_overridden"] is False
