"""Email drafts: create, list, read, change and delete, and what a draft may hold."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from authstack_core.domain.email_drafts import MAX_DRAFTS
from authstack_core.models.email_drafts import DEFAULT_DRAFT_SOURCE, DEFAULT_DRAFT_SUBJECT
from tests.api.helpers import assert_known_error
from tests.conftest import Project

DRAFTS = "/api/v1/internal/email-drafts"
DARK = "a0172b5d-cff0-463b-83bb-85124697373a"
SOURCE = '{% extends "layout.html" %}{% block content %}<p>News for {{ who }}</p>{% endblock %}'


def create(http: httpx.Client, project: Project, **body: object) -> str:
    r = http.post(DRAFTS, headers=project.headers("admin"), json=body)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["id"]
    draft_id: str = r.json()["id"]
    return draft_id


def test_a_draft_is_created_listed_read_changed_and_deleted(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    first = create(
        http,
        project,
        display_name="Launch",
        theme_id=False,
        tsx_source=SOURCE,
        subject="News for {{ who }}",
        template_variables={"who": "everyone"},
    )
    second = create(http, project, display_name="Plain")
    listing = http.get(DRAFTS, headers=admin)
    assert listing.status_code == 200, listing.text
    drafts = listing.json()["drafts"]
    assert [d["id"] for d in drafts] == [second, first]  # the most recently edited first
    assert drafts[1] == {
        "id": first,
        "display_name": "Launch",
        "tsx_source": SOURCE,
        "theme_id": False,
        "sent_at_millis": None,
        "template_variables": {"who": "everyone"},
        "subject": "News for {{ who }}",
    }
    # Without a source: a greeting in the project's theme (theme_id null).
    plain = http.get(f"{DRAFTS}/{second}", headers=admin).json()
    assert plain["tsx_source"] == DEFAULT_DRAFT_SOURCE
    assert plain["subject"] == DEFAULT_DRAFT_SUBJECT
    assert plain["theme_id"] is None

    r = http.patch(
        f"{DRAFTS}/{first}",
        headers=admin,
        json={"display_name": "Launch v2", "theme_id": DARK, "sent_at_millis": 1_700_000_000_000},
    )
    assert (r.status_code, r.json()) == (200, {"ok": "ok"}), r.text
    read = http.get(f"{DRAFTS}/{first}", headers=admin).json()
    assert (read["display_name"], read["theme_id"], read["sent_at_millis"]) == (
        "Launch v2",
        DARK,
        1_700_000_000_000,
    )
    assert read["tsx_source"] == SOURCE  # what was not sent is kept
    assert http.get(DRAFTS, headers=admin).json()["drafts"][0]["id"] == first

    r = http.patch(
        f"{DRAFTS}/{first}", headers=admin, json={"theme_id": None, "sent_at_millis": None}
    )
    assert r.status_code == 200, r.text
    read = http.get(f"{DRAFTS}/{first}", headers=admin).json()
    assert (read["theme_id"], read["sent_at_millis"]) == (None, None)

    deleted = http.delete(f"{DRAFTS}/{first}", headers=admin)
    assert (deleted.status_code, deleted.json()) == (200, {"ok": "ok"})
    for method in ("GET", "PATCH", "DELETE"):
        gone = http.request(
            method, f"{DRAFTS}/{first}", headers=admin,
            json={"display_name": "x"} if method == "PATCH" else None,
        )  # fmt: skip
        assert (gone.status_code, gone.text) == (404, "No draft found with given id")
    assert [d["id"] for d in http.get(DRAFTS, headers=admin).json()["drafts"]] == [second]


def test_what_a_draft_may_hold_is_checked(http: httpx.Client, project: Project) -> None:
    admin = project.headers("admin")
    draft = create(http, project, display_name="Checked")
    schema_errors = [
        ("POST", DRAFTS, {"theme_id": False, "tsx_source": "x"}),  # no display_name
        ("POST", DRAFTS, {"display_name": ""}),
        ("POST", DRAFTS, {"display_name": "x", "theme_id": 123}),
        ("POST", DRAFTS, {"display_name": "x", "theme_id": True}),
        ("POST", DRAFTS, {"display_name": "x", "tsx_source": "x" * 100_001}),
        ("POST", DRAFTS, {"display_name": "x", "bogus": 1}),
        ("POST", DRAFTS, {"display_name": "x", "template_variables": {"v": "x" * 20_001}}),
        ("PATCH", f"{DRAFTS}/{draft}", {"theme_id": 123}),
        ("PATCH", f"{DRAFTS}/{draft}", {"sent_at_millis": -1}),
        ("PATCH", f"{DRAFTS}/not-a-uuid", {"display_name": "x"}),
        ("GET", f"{DRAFTS}/not-a-uuid", None),
    ]
    for method, path, body in schema_errors:
        r = http.request(method, path, headers=admin, json=body)
        assert_known_error(r, "SCHEMA_ERROR", 400)
    # A theme id must name one of the project's themes.
    unknown = str(uuid.uuid4())
    for method, path in (("POST", DRAFTS), ("PATCH", f"{DRAFTS}/{draft}")):
        r = http.request(
            method, path, headers=admin, json={"display_name": "x", "theme_id": unknown}
        )
        assert (r.status_code, r.text) == (400, "No theme found with given id")
    # As upstream, a draft is saved as written: rendering it is what reports a broken source.
    broken = create(http, project, display_name="Broken", tsx_source="{% if %}")
    assert http.get(f"{DRAFTS}/{broken}", headers=admin).json()["tsx_source"] == "{% if %}"
    server = http.get(DRAFTS, headers=project.headers("server"))
    assert_known_error(server, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_a_project_has_at_most_max_drafts(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    with psycopg.connect(migrated_database) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO email_drafts (tenancy_id, id, display_name, subject, source)"
            " SELECT %s, gen_random_uuid(), 'Filler', '', '' FROM generate_series(1, %s)",
            (project.tenancy_id, MAX_DRAFTS - 1),
        )
    create(http, project, display_name="The last one")
    r = http.post(DRAFTS, headers=project.headers("admin"), json={"display_name": "One more"})
    assert (r.status_code, r.text) == (
        400,
        f"A project may have at most {MAX_DRAFTS} email drafts.",
    )
    assert len(http.get(DRAFTS, headers=project.headers("admin")).json()["drafts"]) == MAX_DRAFTS
