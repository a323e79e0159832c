"""The dashboard in a real browser (Debian Chromium via Playwright) against the live API."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.helpers import assert_known_error, create_user
from tests.conftest import ApiServer
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import (
    INTERNAL_TEAM_ID,
    PASSWORD,
    admin_headers,
    admin_project,
    api_project,
    internal_sign_in,
    internal_sign_up,
    sdk_sign_up,
    unique,
)


def test_admin_creates_project_and_keys_then_sdk_user_appears_in_user_list(
    page: Any, api: ApiServer
) -> None:
    """The operator story: sign in, create a project, create keys, the SDK uses them."""
    sign_in(page)
    name = unique("Browser app")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("made by the browser test")
    # The SDK app below signs up with a localhost verification callback: new projects refuse
    # localhost unless the admin asks for it here.
    page.get_by_label("Allow redirects to localhost (for development)").check()
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}/api-keys$"))
    assert "created" in page.locator(".flash-ok").inner_text()
    project_id = page.url.rstrip("/").split("/")[-2]

    page.get_by_label("Description").fill("web app")
    page.get_by_role("button", name="Create key set").click()
    keys = {
        kind: page.locator(f"#new-{kind}").input_value()
        for kind in ("publishable_client_key", "secret_server_key", "super_secret_admin_key")
    }
    assert page.locator("#new-project-id").input_value() == project_id
    assert keys["publishable_client_key"].startswith("pck_")
    assert keys["secret_server_key"].startswith("ssk_")
    assert keys["super_secret_admin_key"].startswith("sak_")
    screenshot(page, "01_key_set_created_shown_once")

    # The keys are shown once: the list shows only their last four characters.
    page.goto(f"/projects/{project_id}/api-keys")
    assert keys["secret_server_key"] not in page.content()
    assert keys["secret_server_key"][-4:] in page.locator(".key-set").first.inner_text()

    email = f"{unique('sdk-user')}@example.com"
    created = sdk_sign_up(api.url, project_id, keys, email)

    page.goto(f"/projects/{project_id}/users")
    row = page.locator("table.users tbody tr", has_text=email)
    assert row.count() == 1
    screenshot(page, "02_sdk_user_in_user_list")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/users/{created['user_id']}")
    assert email in page.locator("main").inner_text()

    page.goto(f"/projects/{project_id}")
    assert page.locator("#total-users").inner_text() == "1"
    assert email in page.locator("main").inner_text()
    screenshot(page, "03_project_overview")


def test_edit_display_name_and_server_metadata(page: Any, api: ApiServer) -> None:
    with api.client() as http:
        project = admin_project(http, "Edit users")
        user_id = create_user(
            http, project, primary_email=f"{unique('edit')}@example.com", display_name="Before"
        )["id"]

    sign_in(page)
    page.goto(f"/projects/{project.id}/users/{user_id}")
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Server metadata").fill('{"plan": "pro", "seats": 5}')
    page.get_by_label("Client metadata", exact=False).first.fill('{"theme": "dark"}')
    page.get_by_role("button", name="Save user").click()
    page.wait_for_url(f"**/users/{user_id}")
    assert page.locator(".flash-ok").inner_text() == "User saved."
    assert page.locator("#user-heading").inner_text() == "Ada Lovelace"
    screenshot(page, "04_user_edited")

    with api.client() as http:
        user = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server")).json()
    assert user["display_name"] == "Ada Lovelace"
    assert user["server_metadata"] == {"plan": "pro", "seats": 5}
    assert user["client_metadata"] == {"theme": "dark"}

    # Invalid JSON never reaches the API; the page says what is wrong.
    page.get_by_label("Server metadata").fill("{not json")
    page.get_by_role("button", name="Save user").click()
    error = page.locator(".flash-error").inner_text()
    assert "Server metadata is not valid JSON" in error
    screenshot(page, "05_user_metadata_invalid_json")
    with api.client() as http:
        user = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server")).json()
    assert user["server_metadata"] == {"plan": "pro", "seats": 5}

    # Restrict, then delete, through the page.
    page.get_by_label("Reason shown to the user").fill("spam")
    page.get_by_role("button", name="Restrict this user").click()
    assert "restricted by an admin: spam" in page.locator("#user-status").inner_text()
    page.get_by_label(re.compile("Type delete")).fill("delete")
    page.get_by_role("button", name="Delete user").click()
    page.wait_for_url(f"**/projects/{project.id}/users")
    assert page.locator(".flash-ok").inner_text() == "User deleted."
    with api.client() as http:
        r = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server"))
    assert_known_error(r, "USER_NOT_FOUND", 404)


def test_non_admin_internal_user_cannot_see_or_change_another_teams_project(
    page: Any, api: ApiServer
) -> None:
    with api.client() as http:
        theirs = admin_project(http, "Admins only")
        email = f"{unique('outsider')}@example.com"
        outsider_token, outsider_team = internal_sign_up(http, email)
        mine = api_project(http, outsider_token, unique("Outsider app"), outsider_team)

    sign_in(page, email, PASSWORD)
    listed = page.locator(".project-card h2").all_inner_texts()
    assert any("Outsider app" in n for n in listed)
    assert not any("Admins only" in n for n in listed)

    for path in ("", "/users", "/settings", "/api-keys"):
        response = page.goto(f"/projects/{theirs.id}{path}")
        assert response.status == 404, path
        assert "not a member of the team" in page.locator(".error-message").inner_text()
    screenshot(page, "08_other_teams_project_refused")

    # A form posted with the outsider's valid CSRF token still cannot change the project.
    page.goto(f"/projects/{mine.id}/settings")
    token = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(
        f"/projects/{theirs.id}/settings/auth-methods",
        form={"csrf_token": token, "back": "/projects"},
    )
    assert response.status == 404
    # Nor can it create a project for a team it is not in.
    response = page.request.post(
        "/projects/create",
        form={"csrf_token": token, "display_name": "Squat", "owner_team_id": INTERNAL_TEAM_ID},
        max_redirects=0,
    )
    assert response.status == 303
    page.goto("/projects")
    assert "not a member of the team" in page.locator(".flash-error").inner_text()
    with api.client() as http:
        config = http.get(
            "/api/v1/internal/projects/current",
            headers=admin_headers(theirs.id, internal_sign_in(http)),
        ).json()["config"]
        listed_api = http.get(
            "/api/v1/internal/projects",
            headers={
                "x-stack-access-type": "client",
                "x-stack-project-id": "internal",
                "x-stack-access-token": outsider_token,
            },
        ).json()["items"]
    assert config["sign_up_enabled"] is True
    assert [p["id"] for p in listed_api] == [mine.id]


def test_forms_without_a_valid_csrf_token_are_refused(
    page: Any, api: ApiServer, dashboard: DashboardServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "CSRF")
    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    # Strip the token from the real form, as a cross-site form would lack it, and submit.
    page.evaluate(
        "document.querySelector('form[action$=\"/auth-methods\"] input[name=csrf_token]').remove()"
    )
    page.get_by_label("Allow new users to sign up").uncheck()
    page.get_by_role("button", name="Save sign-in settings").click()
    assert "security token is missing or out of date" in page.locator(".error-message").inner_text()
    screenshot(page, "09_csrf_refused")

    for form in (
        {"back": "/projects"},
        {"back": "/projects", "csrf_token": "0" * 64},
        {"back": "/projects", "csrf_token": ""},
    ):
        response = page.request.post(f"/projects/{project.id}/settings/auth-methods", form=form)
        assert response.status == 403, form
    # Sign-in and sign-out are forms too.
    with httpx.Client(base_url=dashboard.url) as bare:
        r = bare.post("/sign-in", data={"email": "admin@example.com", "password": "x"})
        assert r.status_code == 403
        r = bare.post("/projects/create", data={"display_name": "x"})
        assert r.status_code == 403
    with api.client() as http:
        config = http.get("/api/v1/projects/current", headers=project.headers()).json()["config"]
    assert config["sign_up_enabled"] is True  # nothing was changed


def test_sign_in_errors_are_readable_and_next_stays_local(
    page: Any, dashboard: DashboardServer
) -> None:
    response = page.goto("/projects")
    assert page.url.endswith("/sign-in?next=/projects")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#sign-in-error").inner_text() == "Wrong email or password."
    screenshot(page, "10_sign_in_wrong_password")
    assert response is not None

    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        page.goto(f"/sign-in?next={evil}")
        page.get_by_label("Email").fill("admin@example.com")
        page.get_by_label("Password").fill("admin-password-123")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{dashboard.url}/projects")
        page.context.clear_cookies()
    page.goto("/sign-in?next=/projects%3Fx%3D1")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill("admin-password-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard.url}/projects?x=1")

    # The session cookie is HttpOnly, SameSite=Lax and holds no readable secret.
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["authstack_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert "admin-password-123" not in session["value"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    page.goto("/projects")
    assert "/sign-in" in page.url


def test_narrow_screen_and_keyboard_only_use(browser: Any, dashboard: DashboardServer) -> None:
    """On a phone-sized screen nothing overflows sideways; sign-in works by keyboard alone."""
    context = browser.new_context(base_url=dashboard.url, viewport={"width": 375, "height": 740})
    try:
        pg = context.new_page()
        pg.goto("/sign-in")
        for _ in range(5):  # past the skip link and the brand link
            pg.keyboard.press("Tab")
            if pg.evaluate("document.activeElement.id") == "email":
                break
        assert pg.evaluate("document.activeElement.id") == "email"
        pg.keyboard.type("admin@example.com")
        pg.keyboard.press("Tab")
        assert pg.evaluate("document.activeElement.id") == "password"
        pg.keyboard.type("admin-password-123")
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/projects")
        for path in ("/projects", "/projects/internal/users", "/projects/internal/settings"):
            pg.goto(path)
            overflow = pg.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
            # Every form control has an accessible label.
            unlabelled = pg.evaluate(
                """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                   .map(e => e.name)"""
            )
            assert unlabelled == [], (path, unlabelled)
        pg.goto("/projects/internal/users")
        screenshot(pg, "11_narrow_screen_users")
    finally:
        context.close()


def test_create_a_team_add_a_member_and_see_it_on_both_pages(page: Any, api: ApiServer) -> None:
    """Teams: create one, add an existing user by id, the team page and user page agree."""
    email = f"{unique('member')}@example.com"
    with api.client() as http:
        project = admin_project(http, "Team app")
        user_id = create_user(http, project, primary_email=email, display_name="Grace Hopper")["id"]

    sign_in(page)
    page.goto(f"/projects/{project.id}")
    nav = page.get_by_role("navigation", name="Project")
    nav.get_by_role("link", name="Teams", exact=True).click()
    page.wait_for_url(f"**/projects/{project.id}/teams")
    assert "No teams yet." in page.locator("main").inner_text()

    team_name = unique("Compilers")
    page.get_by_label("Team name").fill(team_name)
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url(re.compile(rf"/projects/{project.id}/teams/[0-9a-f-]{{36}}$"))
    assert page.locator(".flash-ok").inner_text() == "Team created."
    assert page.locator("#team-heading").inner_text() == team_name
    team_id = page.url.rstrip("/").split("/")[-1]

    # A malformed id never reaches the API.
    page.get_by_label("User id").fill("not-a-user")
    page.get_by_role("button", name="Add member").click()
    assert "Enter a user id" in page.locator(".flash-error").inner_text()

    page.get_by_label("User id").fill(user_id)
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(f"**/teams/{team_id}")
    assert page.locator(".flash-ok").inner_text() == "Member added."
    row = page.locator("table.members tbody tr", has_text=email)
    assert row.count() == 1
    assert "Grace Hopper" in row.inner_text()
    assert page.locator("#member-count").inner_text() == "1"
    screenshot(page, "12_team_members")

    with api.client() as http:
        r = http.get(
            "/api/v1/teams", headers=project.headers("server"), params={"user_id": user_id}
        )
    assert [t["id"] for t in r.json()["items"]] == [team_id]

    # The user's page lists the team and links back to it.
    row.get_by_role("link", name="Grace Hopper").click()
    page.wait_for_url(f"**/users/{user_id}")
    page.locator("#user-teams").get_by_role("link", name=team_name).click()
    page.wait_for_url(f"**/teams/{team_id}")

    # Removing the member empties the team; the list still shows the team.
    page.get_by_role("button", name="Remove").click()
    page.wait_for_url(f"**/teams/{team_id}")
    assert page.locator(".flash-ok").inner_text() == "Member removed."
    assert "No members yet." in page.locator("main").inner_text()
    page.goto(f"/projects/{project.id}/teams")
    assert page.locator("table.teams tbody tr", has_text=team_name).count() == 1
    page.goto(f"/projects/{project.id}/users/{user_id}")
    assert "Not a member of any team." in page.locator("main").inner_text()
