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


PREVIEW_CSP = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)
# Markup that would leave a mark if scripts ran in the preview (they must not).
SCRIPT = "<script>document.body.insertAdjacentHTML('beforeend', '<p id=ran>ran</p>')</script>"


def _is_preview_post(response: Any) -> bool:
    return response.url.endswith("/preview") and response.request.method == "POST"


def test_edit_a_template_preview_the_unsaved_change_in_the_sandbox_then_save_it(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Email templates")
    sign_in(page)
    page.goto(f"/projects/{project.id}")
    page.get_by_role("link", name="Emails", exact=True).click()
    page.wait_for_url(f"**/projects/{project.id}/emails")
    assert page.locator("tr.email-template").count() == 5
    page.get_by_role("link", name="Edit Password reset").click()
    page.wait_for_url("**/emails/templates/password_reset")

    frame_element = page.locator("iframe.email-preview")
    assert frame_element.get_attribute("sandbox") == ""  # every restriction, no exception
    frame = page.frame_locator("iframe.email-preview")
    # First the saved template, rendered by the API with sample values in the project's theme.
    assert "Reset your password" in frame.locator("body").inner_text()
    assert "Reset your password at" in frame.locator(".preview-subject").inner_text()

    original = page.get_by_label("HTML source").input_value()
    edited = original.replace(
        "{% block content %}", "{% block content %}<p id=edited>Unsaved words</p>" + SCRIPT, 1
    )
    assert edited != original
    page.get_by_label("HTML source").fill(edited)
    page.get_by_label("Subject").fill("Reset it now, {{ projectDisplayName }}")
    with page.expect_response(_is_preview_post) as preview:
        page.get_by_role("button", name="Preview", exact=True).click()
    response = preview.value
    assert response.status == 200
    assert response.headers["content-security-policy"] == PREVIEW_CSP
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert frame.locator("#edited").inner_text() == "Unsaved words"
    # The built-in template's own sample values fill the unsaved source too.
    assert "https://example.com/handler?code=sample" in frame.locator("body").inner_text()
    assert (
        frame.locator(".preview-subject").inner_text()
        == f"Reset it now, {project_name(api, project)}"
    )
    page.wait_for_timeout(300)
    assert frame.locator("#ran").count() == 0  # the script did not run
    screenshot(page, "emails_01_unsaved_preview")
    # Previewing saved nothing.
    assert _templates(api, project)["password_reset"]["is_overridden"] is False

    with page.expect_response(_is_preview_post):
        page.get_by_role("button", name="Preview text").click()
    assert "Reset it now" in frame.locator(".preview-subject").inner_text()
    assert "reset the password" in frame.locator("pre.preview-text").inner_text()

    page.get_by_role("button", name="Save").click()
    assert "Template saved." in page.locator(".flash-ok").inner_text()
    saved = _templates(api, project)["password_reset"]
    assert saved["subject"] == "Reset it now, {{ projectDisplayName }}"
    assert "Unsaved words" in saved["html"]
    assert saved["is_overridden"] is True
    # The saved version is what the frame shows now.
    assert frame.locator("#edited").inner_text() == "Unsaved words"
    screenshot(page, "emails_02_template_saved")

    # A broken template is refused by the API and the edits stay in the form.
    page.get_by_label("HTML source").fill("{% block content %}{{ broken ")
    page.get_by_role("button", name="Save").click()
    assert "not valid" in page.locator(".flash-error").inner_text()
    assert page.get_by_label("HTML source").input_value() == "{% block content %}{{ broken "
    with page.expect_response(_is_preview_post) as preview:
        page.get_by_role("button", name="Preview", exact=True).click()
    assert preview.value.headers["content-security-policy"] == PREVIEW_CSP
    assert frame.locator(".preview-error").inner_text()
    assert "Unsaved words" in _templates(api, project)["password_reset"]["html"]

    page.get_by_role("button", name="Reset to the default").click()
    assert "back to its default" in page.locator(".flash-ok").inner_text()
    assert _templates(api, project)["password_reset"]["is_overridden"] is False


def project_name(api: ApiServer, project: Any) -> str:
    with api.client() as http:
        r = http.get("/api/v1/internal/projects/current", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    name: str = r.json()["display_name"]
    return name


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
