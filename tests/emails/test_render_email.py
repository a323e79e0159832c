"""``POST /emails/render-email``: previews of templates, drafts and sources in a theme, with the
sandbox and budget of real sends, that never send or queue anything."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.api.test_rate_limits import assert_rate_limited
from tests.conftest import QUEUE_NAMESPACE, ApiServer, Project, running_api
from tests.factories import query_value
from tests.mail import MailSink, WorkerProcess

RENDER = "/api/v1/emails/render-email"
THEMES = "/api/v1/internal/email-themes"
DRAFTS = "/api/v1/internal/email-drafts"
DARK = "a0172b5d-cff0-463b-83bb-85124697373a"
NESTED_LOOPS = (
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
    "{% endfor %}{% endfor %}{% endfor %}"
)
THEME = (
    '<html><body><div class="preview-theme">{% block content %}{% endblock %}</div></body></html>'
)


def render(http: httpx.Client, project: Project, **body: Any) -> httpx.Response:
    return http.post(RENDER, headers=project.headers("admin"), json=body)


def rendered(http: httpx.Client, project: Project, **body: Any) -> dict[str, Any]:
    r = render(http, project, **body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_builtin_template_renders_in_the_projects_theme_with_sample_values(
    http: httpx.Client, project: Project
) -> None:
    out = rendered(http, project, template_id="password_reset")
    assert out["subject"] == f"Reset your password at Test project {project.id[:8]}"
    assert out["notification_category"] == "Transactional"
    assert "background:#f4f4f5" in out["html"]  # the selected (default light) theme
    assert "https://example.com/handler?code=sample" in out["html"]
    assert "Ada Lovelace" in out["text"]  # the built-in text part, with a sample user

    dark = rendered(http, project, template_id="password_reset", theme_id=DARK)
    assert "background:#27272a" in dark["html"]
    bare = rendered(http, project, template_id="password_reset", theme_id=False)
    assert "background:#f4f4f5" not in bare["html"]
    assert bare["html"].startswith("<!DOCTYPE html>\n<html>\n<head>")
    assert "Reset your password" in bare["html"]
    themed = rendered(http, project, template_id="password_reset", theme_tsx_source=THEME)
    assert '<div class="preview-theme">' in themed["html"]
    # Given variables win over the samples.
    given = rendered(
        http, project, template_id="password_reset", variables={"userDisplayName": "<Grace>"}
    )
    assert "Hi &lt;Grace&gt;," in given["html"]


def test_a_source_renders_with_its_subject_text_and_variables(
    http: httpx.Client, project: Project
) -> None:
    source = '{% extends "layout.html" %}{% block content %}<p>Hello {{ who }}</p>{% endblock %}'
    out = rendered(
        http,
        project,
        template_tsx_source=source,
        subject="For {{ who }}",
        variables={"who": "<b>team</b>"},
    )
    assert "<p>Hello &lt;b&gt;team&lt;/b&gt;</p>" in out["html"]  # values are escaped
    assert "background:#f4f4f5" in out["html"]
    assert out["subject"] == "For <b>team</b>"
    assert "Hello <b>team</b>" in out["text"]  # derived from the HTML
    assert "notification_category" not in out
    # A source that does not extend the layout is a whole email: the theme does not touch it.
    plain = rendered(http, project, draft_content="<p>As is</p>", text="Plain {{ 1 + 1 }}")
    assert (plain["html"], plain["text"], plain["subject"]) == ("<p>As is</p>", "Plain 2", "")


def test_a_draft_renders_in_its_own_theme_with_its_variables(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    theme = http.post(THEMES, headers=admin, json={"display_name": "P", "tsx_source": THEME})
    draft = http.post(
        DRAFTS,
        headers=admin,
        json={
            "display_name": "Launch",
            "theme_id": theme.json()["id"],
            "subject": "Launch for {{ who }}",
            "tsx_source": '{% extends "layout.html" %}{% block content %}{{ who }} by '
            "{{ projectDisplayName }}{% endblock %}",
            "template_variables": {"who": "Ada's team"},
        },
    ).json()["id"]
    out = rendered(http, project, draft_id=draft)
    assert '<div class="preview-theme">' in out["html"]
    assert f"Ada&#39;s team by Test project {project.id[:8]}" in out["html"]
    assert out["subject"] == "Launch for Ada's team"
    no_theme = rendered(http, project, draft_id=draft, theme_id=False, variables={"who": "Bob"})
    assert "preview-theme" not in no_theme["html"]
    assert "Bob by" in no_theme["html"]


def test_bad_requests_and_bad_sources_get_clear_errors(
    http: httpx.Client, project: Project
) -> None:
    for body in (
        {},
        {"template_id": "password_reset", "template_tsx_source": "x"},
        {"draft_content": "x", "theme_id": DARK, "theme_tsx_source": THEME},
        {"template_id": "password_reset", "subject": "x"},
        {"draft_id": "not-a-uuid"},
        {"draft_content": "x", "theme_id": True},
        {"draft_content": "x", "variables": {"v": "x" * 20_001}},
        {"draft_content": "x", "bogus": 1},
    ):
        assert_known_error(render(http, project, **body), "SCHEMA_ERROR", 400)
    r = render(http, project, template_id="no_such_template")
    assert r.status_code == 404, r.text
    r = render(http, project, draft_id="6f1c1b7e-2222-4000-8000-000000000000")
    assert (r.status_code, r.text) == (404, "No draft found with given id")
    r = render(http, project, draft_content="x", theme_id="6f1c1b7e-3333-4000-8000-000000000000")
    assert (r.status_code, r.text) == (400, "No theme found with given id")

    cases = {
        "{% if %}": "line 1",
        "{{ ''.__class__.__mro__ }}": "unsafe",
        NESTED_LOOPS: "over the rendering budget: the template's loops run more than 10000",
        "{{ " + "(" * 200 + "1" + ")" * 200 + " }}": "nested too deeply",  # not a 500
    }
    for source, reason in cases.items():
        body = assert_known_error(render(http, project, template_tsx_source=source),
                                  "EMAIL_RENDERING_ERROR", 400)  # fmt: skip
        assert reason in body["details"]["error"], body
    themed = '{% extends "layout.html" %}{% block content %}x{% endblock %}'
    theme = assert_known_error(
        render(http, project, draft_content=themed, theme_tsx_source="<p>no body</p>"),
        "EMAIL_RENDERING_ERROR",
        400,
    )
    assert "no {% block content %}" in theme["details"]["error"]
    server = http.post(RENDER, headers=project.headers("server"), json={"draft_content": "x"})
    assert_known_error(server, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_a_preview_never_sends_or_queues_anything(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    mail_worker: WorkerProcess,
    migrated_database: str,
) -> None:
    sink, project = own_server
    create_user(http, project, primary_email=unique_email("preview"))

    def outbox_count() -> int:
        count = query_value(
            migrated_database,
            "SELECT count(*) FROM email_outbox WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
        assert isinstance(count, int)
        return count

    before = outbox_count()
    for body in (
        {"template_id": "password_reset"},
        {"template_id": "magic_link", "theme_id": False},
        {"template_tsx_source": "<p>{{ recipientEmail }}</p>", "subject": "s"},
    ):
        rendered(http, project, **body)
    time.sleep(1)  # a worker is running: anything queued would have been sent by now
    assert outbox_count() == before == 0
    listing = http.get("/api/v1/emails/outbox", headers=project.headers("server")).json()
    assert listing["items"] == []
    assert sink.messages() == []


@pytest.fixture(scope="module")
def low_render_limit(migrated_database: str) -> Iterator[ApiServer]:
    """An API allowing two renders per project an hour."""
    with running_api(
        migrated_database,
        STACK_QUEUE_NAMESPACE=f"{QUEUE_NAMESPACE}:rl{secrets.token_hex(3)}",
        STACK_RATE_LIMITS="email_render.project=1/1h:2",
    ) as server:
        yield server


def test_rendering_is_limited_per_project(low_render_limit: ApiServer, make_project: Any) -> None:
    first, second = make_project(None), make_project(None)
    with low_render_limit.client() as http:
        ok = [render(http, first, draft_content="<p>x</p>").status_code for _ in range(2)]
        assert ok == [200, 200]
        assert_rate_limited(render(http, first, draft_content="<p>x</p>"))
        # A theme's trial render is the same work, counted the same way.
        r = http.post(
            THEMES,
            headers=first.headers("admin"),
            json={"display_name": "x", "tsx_source": THEME},
        )
        assert_rate_limited(r)
        assert render(http, second, draft_content="<p>x</p>").status_code == 200
