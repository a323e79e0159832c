"""Templates: overrides per project, the sandbox, and escaping of user-supplied values."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_user, assert_known_error, sign_up, unique_email
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, custom_server_config

CALLBACK = "http://localhost:3000/handler/password-reset"
HOSTILE_NAME = '<script>alert("x")</script>{{ 7*7 }}{% if true %}IF{% endif %}'


def reset_mail(
    http: httpx.Client, project: Project, email: str, sink: MailSink, count: int = 1
) -> dict[str, Any]:
    r = http.post(
        "/api/v1/auth/password/send-reset-code",
        headers=project.headers(),
        json={"email": email, "callback_url": CALLBACK},
    )
    assert r.status_code == 200, r.text
    return sink.wait_for(email, count=count)[-1]


def test_a_hostile_display_name_is_rendered_inert(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("hostile")
    tokens = sign_up(http, project, email)
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, tokens["access_token"]),
        json={"display_name": HOSTILE_NAME},
    )
    assert r.status_code == 200, r.text

    message = reset_mail(http, project, email, mail_sink)
    html = message["html"]
    assert "<script>" not in html
    # Escaped, and never parsed as a template: the Jinja syntax arrives as text, unevaluated.
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;{{ 7*7 }}{% if true %}IF{% endif %}"
    assert f"Hi {escaped}," in html
    assert f"Hi {HOSTILE_NAME}," in message["text"]  # plain text needs no escaping


def test_admin_overrides_a_builtin_template_and_resets_it(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    admin = project.headers("admin")
    listing = http.get("/api/v1/internal/email-templates", headers=admin)
    assert listing.status_code == 200, listing.text
    ids = [t["id"] for t in listing.json()["items"]]
    assert ids[:5] == [
        "email_verification",
        "password_reset",
        "magic_link",
        "team_invitation",
        "sign_in_invitation",
    ]
    reset = next(t for t in listing.json()["items"] if t["id"] == "password_reset")
    assert reset["variables"] == ["passwordResetLink"]
    assert reset["is_overridden"] is False

    r = http.patch(
        "/api/v1/internal/email-templates/password_reset",
        headers=admin,
        json={
            "subject": "Reset for {{ projectDisplayName }}, {{ userDisplayName or 'friend' }}",
            "html": '<p>Go to <a href="{{ passwordResetLink }}">{{ passwordResetLink }}</a></p>',
            "text": None,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_overridden"] is True

    email = unique_email("override")
    sign_up(http, project, email)
    message = reset_mail(http, project, email, mail_sink)
    assert message["subject"] == f"Reset for Test project {project.id[:8]}, friend"
    assert message["html"].startswith("<p>Go to <a href=")
    assert "code=" in message["text"]  # the text part is derived from the HTML

    reset = http.delete("/api/v1/internal/email-templates/password_reset", headers=admin)
    assert reset.json() == {"success": True}
    message = reset_mail(http, project, email, mail_sink, count=2)
    assert message["subject"].startswith("Reset your password")


def test_templates_that_break_the_sandbox_or_do_not_compile_are_refused(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    for html in (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ passwordResetLink.__class__ }}",
        "{% for i in range(10000000) %}x{% endfor %}",
        "{% if %}",
        "{% include '/etc/passwd' %}",
    ):
        r = http.patch(
            "/api/v1/internal/email-templates/password_reset", headers=admin, json={"html": html}
        )
        assert_known_error(r, "SCHEMA_ERROR", 400)
        assert "not valid" in r.json()["error"]
    unknown = http.patch(
        "/api/v1/internal/email-templates/no_such", headers=admin, json={"html": "x"}
    )
    assert unknown.status_code == 404
    server = http.get("/api/v1/internal/email-templates", headers=project.headers("server"))
    assert_known_error(server, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_custom_template_sent_with_send_email_escapes_its_variables(
    http: httpx.Client,
    make_project: Any,
    make_sink: Any,
    mail_worker: WorkerProcess,
) -> None:
    sink: MailSink = make_sink()
    project: Project = make_project(custom_server_config(sink))
    admin = project.headers("admin")
    created = http.post(
        "/api/v1/internal/email-templates",
        headers=admin,
        json={
            "display_name": "Weekly news",
            "subject": "News for {{ userDisplayName }}",
            "html": "<h1>{{ headline }}</h1>",
        },
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    email = unique_email("news")
    user = http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"primary_email": email, "display_name": "Ada\r\nBcc: victim@example.com"},
    ).json()
    r = http.post(
        "/api/v1/emails/send-email",
        headers=project.headers("server"),
        json={
            "user_ids": [user["id"]],
            "template_id": template_id,
            "variables": {"headline": "<img src=x onerror=alert(1)>"},
        },
    )
    assert r.status_code == 200, r.text
    [message] = sink.wait_for(email)
    assert "&lt;img src=x onerror=alert(1)&gt;" in message["html"]
    # A line break in a value cannot add a header.
    assert message["subject"] == "News for Ada Bcc: victim@example.com"
    assert message["rcpt_tos"] == [email]
    path = f"/api/v1/internal/email-templates/{template_id}"
    assert http.delete(path, headers=admin).status_code == 200
    assert http.delete(path, headers=admin).status_code == 404
