"""Templates: overrides per project, the sandbox, and escaping of user-supplied values."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.api.helpers import as_user, assert_known_error, create_user, sign_up, unique_email
from tests.conftest import ApiServer, Project
from tests.mail import MailSink, WorkerProcess, send_email, wait_until

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
    own_server: tuple[MailSink, Project],
    mail_worker: WorkerProcess,
) -> None:
    sink, project = own_server
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
    user = create_user(
        http, project, primary_email=email, display_name="Ada\r\nBcc: victim@example.com"
    )
    r = send_email(
        http,
        project,
        [user["id"]],
        template_id=template_id,
        variables={"headline": "<img src=x onerror=alert(1)>"},
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


# --- the rendering budget -------------------------------------------------------------------------

NESTED_LOOPS = (
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
    "{% endfor %}{% endfor %}{% endfor %}"
)
# Allowed operations, but 2**40 of them: refused by the step or time budget after ~1 s of work.
EXPONENTIAL = (
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
)
HEALTH_LATENCY_LIMIT_S = 1.5  # the loop answers within a few ms; this allows for a busy machine


def test_health_stays_responsive_while_templates_over_budget_are_refused(
    api: ApiServer,
    http: httpx.Client,
    project: Project,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
) -> None:
    """Before the budget, one of these templates rendered on the API's event loop for minutes."""
    admin = project.headers("admin")
    latencies: list[float] = []
    stop = threading.Event()

    def poll_health() -> None:
        with api.client() as client:
            while not stop.is_set():
                started = time.monotonic()
                assert client.get("/health").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    def submit(html: str) -> httpx.Response:
        with api.client() as client:
            return client.patch(
                "/api/v1/internal/email-templates/password_reset",
                headers=admin,
                json={"html": html},
            )

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(submit, [NESTED_LOOPS, EXPONENTIAL] * 2))
    finally:
        stop.set()
        poller.join()

    for r in answers:
        body = assert_known_error(r, "SCHEMA_ERROR", 400)
        assert "over the rendering budget" in body["error"], body
    assert "loops run more than 10000 times" in answers[0].json()["error"]
    print(f"/health during the refusals: {len(latencies)} probes, max {max(latencies):.3f} s")
    assert max(latencies) < HEALTH_LATENCY_LIMIT_S, sorted(latencies)[-5:]
    assert len(latencies) >= 5  # it kept answering throughout, not once before and after

    # Nothing was saved, and an ordinary template with a loop still renders and sends.
    ordinary = (
        '<p>{% for word in ["Reset", "your", "password"] %}{{ word }} {% endfor %}'
        '<a href="{{ passwordResetLink }}">here</a></p>'
    )
    r = http.patch(
        "/api/v1/internal/email-templates/password_reset", headers=admin, json={"html": ordinary}
    )
    assert r.status_code == 200, r.text
    email = unique_email("budget")
    sign_up(http, project, email)
    message = reset_mail(http, project, email, mail_sink)
    assert "Reset your password " in message["html"]


def test_a_stored_template_over_budget_fails_at_send_time_with_the_reason(
    http: httpx.Client,
    own_server: tuple[MailSink, Project],
    migrated_database: str,
    mail_worker: WorkerProcess,
) -> None:
    """A template saved before the budget existed (written straight to the table) is not
    rendered to the end by the worker: the outbox row fails and says why; nothing is sent."""
    sink, project = own_server
    with psycopg.connect(migrated_database) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO email_templates (tenancy_id, id, display_name, subject, html, text)"
            " VALUES (%s, 'legacy-heavy', 'Heavy', 'Hi', %s, NULL)",
            (project.tenancy_id, NESTED_LOOPS),
        )
    user = create_user(http, project, primary_email=unique_email())
    r = send_email(http, project, [user["id"]], template_id="legacy-heavy", variables={})
    assert r.status_code == 200, r.text

    def failed() -> dict[str, Any] | None:
        rows = http.get(
            "/api/v1/emails/outbox", headers=project.headers("server"), params={"status": "failed"}
        ).json()["items"]
        return rows[0] if rows else None

    item = wait_until(failed, 20, what="the outbox row to fail")
    assert item["attempt_count"] == 1
    assert item["error"].startswith("the template could not be rendered: over the rendering budget")
    assert "loops run more than 10000 times" in item["error"]
    assert sink.messages() == []
