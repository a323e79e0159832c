"""The Emails pages in a real browser: a template edited with a live preview (the unsaved source
rendered by the API into a sandboxed iframe whose document carries its own CSP), then saved."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import ApiServer
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import admin_project


def _signed_in_with_project(page: Any, api: ApiServer, tag: str) -> Any:
    """A new project of the admin's team, and the page signed in as that admin."""
    with api.client() as http:
        project = admin_project(http, tag)
    sign_in(page)
    return project


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
    project = _signed_in_with_project(page, api, "Email templates")
    page.goto(f"/projects/{project.id}")
    page.get_by_role("link", name="Emails", exact=True).click()
    page.wait_for_url(f"**/projects/{project.id}/emails")
    assert page.locator("tr.email-template").count() == 5
    page.get_by_role("link", name="Edit Password reset").click()
    page.wait_for_url("**/emails/templates/password_reset")

    # The editor page itself keeps the dashboard's CSP and may not be framed: only previews may.
    editor = page.request.get(page.url)
    assert editor.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in editor.headers["content-security-policy"]
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


def _admin_get(api: ApiServer, project: Any, path: str) -> Any:
    with api.client() as http:
        r = http.get(f"/api/v1{path}", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def test_drafts_create_preview_save_and_delete(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    project = _signed_in_with_project(page, api, "Email drafts")
    page.goto(f"/projects/{project.id}/emails")
    page.get_by_role("navigation", name="Emails").get_by_role("link", name="Drafts").click()
    page.wait_for_url("**/emails/drafts")
    assert "No drafts yet." in page.locator("main").inner_text()
    page.get_by_label("Name").fill("Spring news")
    page.get_by_role("button", name="Create draft").click()
    assert "Draft “Spring news” created." in page.locator(".flash-ok").inner_text()
    [draft] = _admin_get(api, project, "/internal/email-drafts")["drafts"]
    page.wait_for_url(f"**/emails/drafts/{draft['id']}")
    frame = page.frame_locator("iframe.email-preview")
    assert "Hi Ada Lovelace!" in frame.locator("body").inner_text()  # the new draft's greeting

    page.get_by_label("Subject").fill("Spring is here, {{ userDisplayName }}")
    page.get_by_label("HTML source").fill(
        '{% extends "layout.html" %}{% block content %}<h1 id=news>Flowers for '
        "{{ projectDisplayName }}</h1>" + SCRIPT + "{% endblock %}"
    )
    page.get_by_label("Theme").select_option(label="Default Dark")
    with page.expect_response(_is_preview_post) as preview:
        page.get_by_role("button", name="Preview", exact=True).click()
    assert preview.value.headers["content-security-policy"] == PREVIEW_CSP
    assert frame.locator("#news").inner_text() == f"Flowers for {project_name(api, project)}"
    assert frame.locator(".preview-subject").inner_text() == "Spring is here, Ada Lovelace"
    page.wait_for_timeout(300)
    assert frame.locator("#ran").count() == 0
    screenshot(page, "emails_03_draft_preview")
    unsaved = _admin_get(api, project, f"/internal/email-drafts/{draft['id']}")
    assert "Flowers" not in unsaved["tsx_source"]

    page.get_by_role("button", name="Save").click()
    assert "Draft saved." in page.locator(".flash-ok").inner_text()
    saved = _admin_get(api, project, f"/internal/email-drafts/{draft['id']}")
    assert "Flowers" in saved["tsx_source"]
    assert saved["subject"] == "Spring is here, {{ userDisplayName }}"
    themes = _admin_get(api, project, "/internal/email-themes")["themes"]
    dark = next(t["id"] for t in themes if t["display_name"] == "Default Dark")
    assert saved["theme_id"] == dark
    assert page.get_by_label("Theme").input_value() == dark
    assert frame.locator("#news").count() == 1  # the saved draft, previewed in its theme

    page.get_by_label("Theme").select_option(label="No theme")
    page.get_by_role("button", name="Save").click()
    assert _admin_get(api, project, f"/internal/email-drafts/{draft['id']}")["theme_id"] is False

    page.get_by_role("button", name="Delete draft").click()
    assert "Draft deleted." in page.locator(".flash-ok").inner_text()
    assert _admin_get(api, project, "/internal/email-drafts")["drafts"] == []


def test_themes_create_edit_preview_and_choose_the_one_in_use(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    project = _signed_in_with_project(page, api, "Email themes")
    page.goto(f"/projects/{project.id}/emails/themes")
    rows = page.locator("tr.email-theme")
    assert rows.count() == 3
    assert "in use" in rows.filter(has_text="Default Light").inner_text()
    page.get_by_label("Name").fill("Brand")
    page.get_by_role("button", name="Create theme").click()
    assert "Theme “Brand” created." in page.locator(".flash-ok").inner_text()
    listed = _admin_get(api, project, "/internal/email-themes")
    brand = next(t["id"] for t in listed["themes"] if t["display_name"] == "Brand")
    page.wait_for_url(f"**/emails/themes/{brand}")

    source = page.get_by_label("Source").input_value()
    assert "{% block content %}" in source
    branded = source.replace(
        "{% block content %}", "<div id=brand-mark>Brand header</div>{% block content %}", 1
    )
    page.get_by_label("Source").fill(branded)
    page.get_by_label("Preview with").select_option(label="Password reset")
    with page.expect_response(_is_preview_post) as preview:
        page.get_by_role("button", name="Preview", exact=True).click()
    assert preview.value.headers["content-security-policy"] == PREVIEW_CSP
    frame = page.frame_locator("iframe.email-preview")
    assert frame.locator("#brand-mark").inner_text() == "Brand header"
    assert "Reset your password" in frame.locator("body").inner_text()
    screenshot(page, "emails_04_theme_preview")
    assert (
        "brand-mark"
        not in _admin_get(api, project, f"/internal/email-themes/{brand}")["tsx_source"]
    )

    page.get_by_role("button", name="Save").click()
    assert "Theme saved." in page.locator(".flash-ok").inner_text()
    assert "brand-mark" in _admin_get(api, project, f"/internal/email-themes/{brand}")["tsx_source"]
    # A theme without the content block is refused, and the edit stays in the form.
    page.get_by_label("Source").fill("<p>{% block content %}")
    page.get_by_role("button", name="Save").click()
    assert page.locator(".flash-error").count() == 1
    assert page.get_by_label("Source").input_value() == "<p>{% block content %}"

    page.goto(f"/projects/{project.id}/emails/themes")
    page.get_by_role("button", name="Use Brand").click()
    assert "Emails now use the theme “Brand”." in page.locator(".flash-ok").inner_text()
    assert "in use" in page.locator("tr.email-theme").filter(has_text="Brand").inner_text()
    assert _admin_get(api, project, "/internal/email-themes")["selected_theme_id"] == brand
    screenshot(page, "emails_05_theme_in_use")
    # Every template now renders inside it: the template editor's preview shows the mark.
    page.goto(f"/projects/{project.id}/emails/templates/email_verification")
    assert page.frame_locator("iframe.email-preview").locator("#brand-mark").count() == 1


def test_every_emails_form_needs_the_csrf_token(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    project = _signed_in_with_project(page, api, "Email CSRF")
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
