"""Email themes: the admin routes, trial rendering before a save, and the theme of real mail."""

from __future__ import annotations

import json
from typing import Any

import httpx

from authstack_core.email_themes import DEFAULT_THEME_SOURCE, MAX_THEME_CHARS
from tests.api.helpers import assert_known_error, create_user, sign_up, unique_email
from tests.conftest import Project
from tests.emails.test_templates import reset_mail
from tests.mail import MailSink, WorkerProcess, send_email

THEMES = "/api/v1/internal/email-themes"
LIGHT = "1df07ae6-abf3-4a40-83a5-a1a2cbe336ac"
DARK = "a0172b5d-cff0-463b-83bb-85124697373a"
COLORFUL = "c7e2d94f-8a1b-4e6d-b3f5-9d0a2e7c1b8f"


def theme_source(marker: str) -> str:
    return (
        f'<!DOCTYPE html><html><body><div class="{marker}">{{{{ projectDisplayName }}}}</div>'
        "{% block content %}{% endblock %}<footer>{% block footer %}{% endblock %}</footer>"
        "</body></html>"
    )


def create_theme(http: httpx.Client, project: Project, name: str, **body: Any) -> str:
    r = http.post(THEMES, headers=project.headers("admin"), json={"display_name": name, **body})
    assert r.status_code == 200, r.text
    theme_id: str = r.json()["id"]
    return theme_id


def select_theme(http: httpx.Client, project: Project, theme_id: str) -> None:
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"config": {"email_theme": theme_id}},
    )
    assert r.status_code == 200, r.text


def test_themes_are_listed_created_read_and_updated(http: httpx.Client, project: Project) -> None:
    admin = project.headers("admin")
    listing = http.get(THEMES, headers=admin).json()
    assert listing == {
        "themes": [
            {"id": LIGHT, "display_name": "Default Light"},
            {"id": DARK, "display_name": "Default Dark"},
            {"id": COLORFUL, "display_name": "Default Colorful"},
        ],
        "selected_theme_id": LIGHT,
    }

    theme_id = create_theme(http, project, "Brand")
    read = http.get(f"{THEMES}/{theme_id}", headers=admin)
    assert read.status_code == 200, read.text
    # A new theme starts as a copy of the default one (as upstream's).
    assert read.json() == {
        "id": theme_id,
        "display_name": "Brand",
        "tsx_source": DEFAULT_THEME_SOURCE,
    }
    assert http.get(THEMES, headers=admin).json()["themes"][-1] == {
        "id": theme_id,
        "display_name": "Brand",
    }

    r = http.patch(
        f"{THEMES}/{theme_id}",
        headers=admin,
        json={"tsx_source": theme_source("brand-v1"), "preview_html": "<h2>Preview body</h2>"},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["display_name"] == "Brand"
    assert '<div class="brand-v1">' in updated["rendered_html"]
    assert "<h2>Preview body</h2>" in updated["rendered_html"]
    assert http.get(f"{THEMES}/{theme_id}", headers=admin).json()["tsx_source"] == theme_source(
        "brand-v1"
    )

    # Rename only (ours); a built-in theme may be renamed and edited too.
    r = http.patch(f"{THEMES}/{DARK}", headers=admin, json={"display_name": "Night"})
    assert r.json() == {"id": DARK, "display_name": "Night"}, r.text
    dark = http.get(f"{THEMES}/{DARK}", headers=admin).json()
    assert dark["display_name"] == "Night"
    assert "#27272a" in dark["tsx_source"]  # its source kept

    # Every change is written to the environment level of the config, as upstream's.
    override = http.get("/api/v1/internal/config/override/environment", headers=admin).json()
    stored = json.loads(override["config_string"])
    assert stored[f"emails.themes.{theme_id}"]["tsxSource"] == theme_source("brand-v1")


def test_a_theme_is_trial_rendered_and_refused_when_it_cannot_render(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    theme_id = create_theme(http, project, "Strict")
    refused = {
        "{% if %}": "line 1",
        "<p>no body anywhere</p>": "no {% block content %}",
        "{% if false %}{% block content %}{% endblock %}{% endif %}": "never shows",
        "{{ ''.__class__.__mro__ }}{% block content %}{% endblock %}": "unsafe",
        "{% block content %}{% endblock %}{% include '/etc/passwd' %}": "TemplateNotFound",
        (
            "{% block content %}{% endblock %}{% for a in range(1000) %}{% for b in range(1000) %}"
            "x{% endfor %}{% endfor %}"
        ): "over the rendering budget",
    }
    for source, reason in refused.items():
        r = http.patch(f"{THEMES}/{theme_id}", headers=admin, json={"tsx_source": source})
        body = assert_known_error(r, "EMAIL_RENDERING_ERROR", 400)
        assert reason in body["details"]["error"], (source, body)
        assert body["error"] == "Failed to render email with theme: " + body["details"]["error"]
    r = http.post(THEMES, headers=admin, json={"display_name": "Bad", "tsx_source": "{% if %}"})
    assert_known_error(r, "EMAIL_RENDERING_ERROR", 400)
    # Nothing was saved.
    assert http.get(f"{THEMES}/{theme_id}", headers=admin).json()["tsx_source"] == (
        DEFAULT_THEME_SOURCE
    )
    assert len(http.get(THEMES, headers=admin).json()["themes"]) == 4

    for body in (
        {},
        {"display_name": ""},
        {"tsx_source": "x" * (MAX_THEME_CHARS + 1)},
        {"tsx_source": 5},
        {"display_name": "x", "unknown": 1},
    ):
        r = http.patch(f"{THEMES}/{theme_id}", headers=admin, json=body)
        assert_known_error(r, "SCHEMA_ERROR", 400)
    assert_known_error(http.post(THEMES, headers=admin, json={}), "SCHEMA_ERROR", 400)

    for method in ("GET", "PATCH"):
        missing = http.request(
            method, f"{THEMES}/6f1c1b7e-0000-4000-8000-000000000000", headers=admin,
            json={"display_name": "x"} if method == "PATCH" else None,
        )  # fmt: skip
        assert (missing.status_code, missing.text) == (404, "No theme found with given id")
    server = http.get(THEMES, headers=project.headers("server"))
    assert_known_error(server, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_a_theme_change_shows_in_the_next_mail(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    admin = project.headers("admin")
    email = unique_email("themed")
    sign_up(http, project, email)

    default = reset_mail(http, project, email, mail_sink, 1)
    assert "background:#f4f4f5" in default["html"]  # the default (light) theme

    theme_id = create_theme(http, project, "Brand", tsx_source=theme_source("brand-v1"))
    select_theme(http, project, theme_id)
    first = reset_mail(http, project, email, mail_sink, 2)
    assert '<div class="brand-v1">' in first["html"]
    assert "Reset your password" in first["html"]  # the template's body, inside the theme
    assert "background:#f4f4f5" not in first["html"]

    r = http.patch(f"{THEMES}/{theme_id}", headers=admin, json={"tsx_source": theme_source("v2")})
    assert r.status_code == 200, r.text
    second = reset_mail(http, project, email, mail_sink, 3)
    assert '<div class="v2">' in second["html"]
    assert "brand-v1" not in second["html"]

    select_theme(http, project, DARK)
    dark = reset_mail(http, project, email, mail_sink, 4)
    assert "background:#27272a" in dark["html"]
    assert "Reset your password" in dark["html"]


def test_send_email_html_is_placed_in_the_theme(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    """As upstream: send-email's HTML is the body of a mail in the project's theme."""
    sink, project = own_server
    select_theme(http, project, create_theme(http, project, "B", tsx_source=theme_source("mine")))
    email = unique_email("html")
    user = create_user(http, project, primary_email=email)
    r = send_email(http, project, [user["id"]], html="<p>Literal {{ body }}</p>", subject="Hi")
    assert r.status_code == 200, r.text
    [message] = sink.wait_for(email)
    assert '<div class="mine">' in message["html"]
    assert "<p>Literal {{ body }}</p>" in message["html"]  # placed as is, never a template


def test_a_broken_theme_in_the_config_falls_back_to_the_default_one(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    """A theme written straight into the config skips the trial render; mail still goes out."""
    broken = "6f1c1b7e-1111-4000-8000-000000000000"
    override = {
        f"emails.themes.{broken}": {"displayName": "TSX", "tsxSource": "export function X() {}"},
        "emails.selectedThemeId": broken,
    }
    r = http.patch(
        "/api/v1/internal/config/override/environment",
        headers=project.headers("admin"),
        json={"config_override_string": json.dumps(override)},
    )
    assert r.status_code == 200, r.text
    email = unique_email("fallback")
    sign_up(http, project, email)
    message = reset_mail(http, project, email, mail_sink, 1)
    assert "background:#f4f4f5" in message["html"]
    assert "code=" in message["html"]
    assert "export function" not in message["html"]
