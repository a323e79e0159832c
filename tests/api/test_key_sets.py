"""Project key sets: /internal/api-keys (admin). Keys are shown once and stored hashed."""

from __future__ import annotations

import time

import httpx
import psycopg

from tests.api.helpers import assert_known_error, unique_email
from tests.conftest import Project

YEAR_MS = 365 * 86_400_000


def new_key_set(http: httpx.Client, project: Project, **flags: bool) -> httpx.Response:
    body = {
        "description": "ci",
        "expires_at_millis": int(time.time() * 1000) + YEAR_MS,
        "has_publishable_client_key": flags.get("pck", True),
        "has_secret_server_key": flags.get("ssk", True),
        "has_super_secret_admin_key": flags.get("sak", True),
    }
    return http.post("/api/v1/internal/api-keys", headers=project.headers("admin"), json=body)


def test_created_keys_work_are_shown_once_and_stored_only_hashed(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    r = new_key_set(http, project)
    assert r.status_code == 200, r.text
    created = r.json()
    pck, ssk, sak = (
        created["publishable_client_key"],
        created["secret_server_key"],
        created["super_secret_admin_key"],
    )
    assert pck.startswith("pck_")
    assert ssk.startswith("ssk_")
    assert sak.startswith("sak_")
    assert len(pck) == len("pck_") + 45
    assert created["description"] == "ci"
    assert "manually_revoked_at_millis" not in created

    # The new keys authenticate...
    fresh = Project(project.id, project.tenancy_id, pck, ssk, sak)
    assert http.get("/api/v1/users", headers=fresh.headers("server")).status_code == 200
    assert http.get("/api/v1/internal/api-keys", headers=fresh.headers("admin")).status_code == 200
    body = {"email": unique_email(), "password": "correct-horse-battery-1"}
    r = http.post("/api/v1/auth/password/sign-up", headers=fresh.headers("client"), json=body)
    assert r.status_code == 200, r.text

    # ...and are never shown again: reads carry only the last four characters.
    read = http.get(
        f"/api/v1/internal/api-keys/{created['id']}", headers=project.headers("admin")
    ).json()
    assert read["publishable_client_key"] == {"last_four": pck[-4:]}
    assert read["secret_server_key"] == {"last_four": ssk[-4:]}
    assert read["super_secret_admin_key"] == {"last_four": sak[-4:]}
    listed = http.get("/api/v1/internal/api-keys", headers=project.headers("admin")).json()
    assert created["id"] in [k["id"] for k in listed["items"]]
    assert ssk not in str(listed)

    with psycopg.connect(migrated_database) as conn:
        row = conn.execute("SELECT * FROM api_key_sets WHERE id = %s", (created["id"],)).fetchone()
    assert row is not None
    assert not any(isinstance(v, str) and v in (pck, ssk, sak) for v in row)


def test_revoked_key_set_stops_working_on_the_next_request(
    http: httpx.Client, project: Project
) -> None:
    created = new_key_set(http, project).json()
    fresh = Project(
        project.id,
        project.tenancy_id,
        created["publishable_client_key"],
        created["secret_server_key"],
        created["super_secret_admin_key"],
    )
    assert http.get("/api/v1/users", headers=fresh.headers("server")).status_code == 200
    r = http.patch(
        f"/api/v1/internal/api-keys/{created['id']}",
        headers=project.headers("admin"),
        json={"revoked": True, "description": "leaked"},
    )
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["manually_revoked_at_millis"], int)
    assert r.json()["description"] == "leaked"
    r = http.get("/api/v1/users", headers=fresh.headers("server"))
    assert_known_error(r, "INVALID_SECRET_SERVER_KEY", 401, {"project_id": project.id})
    # The project's other key set is untouched.
    assert http.get("/api/v1/users", headers=project.headers("server")).status_code == 200


def test_key_set_with_only_a_publishable_key(http: httpx.Client, project: Project) -> None:
    r = new_key_set(http, project, ssk=False, sak=False)
    assert r.status_code == 200
    assert "secret_server_key" not in r.json()
    assert "super_secret_admin_key" not in r.json()
    read = http.get(f"/api/v1/internal/api-keys/{r.json()['id']}", headers=project.headers("admin"))
    assert set(read.json()) >= {"publishable_client_key"}
    assert "secret_server_key" not in read.json()


def test_invalid_key_set_requests(http: httpx.Client, project: Project) -> None:
    assert_known_error(new_key_set(http, project, pck=False, ssk=False, sak=False),
                       "SCHEMA_ERROR", 400)  # fmt: skip
    r = http.post(
        "/api/v1/internal/api-keys",
        headers=project.headers("admin"),
        json={"description": "x", "expires_at_millis": 1000, "has_publishable_client_key": True,
              "has_secret_server_key": False, "has_super_secret_admin_key": False},
    )  # fmt: skip
    assert_known_error(r, "SCHEMA_ERROR", 400)
    created = new_key_set(http, project).json()
    r = http.patch(
        f"/api/v1/internal/api-keys/{created['id']}",
        headers=project.headers("admin"),
        json={"revoked": False},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    r = http.get("/api/v1/internal/api-keys/not-a-uuid", headers=project.headers("admin"))
    assert r.status_code == 404
    r = http.get(
        "/api/v1/internal/api-keys/00000000-0000-4000-8000-000000000000",
        headers=project.headers("admin"),
    )
    assert r.status_code == 404


def test_key_sets_are_admin_only_and_scoped_to_their_project(
    http: httpx.Client, project: Project, make_project: object
) -> None:
    r = http.get("/api/v1/internal/api-keys", headers=project.headers("server"))
    assert_known_error(
        r,
        "INSUFFICIENT_ACCESS_TYPE",
        401,
        {"actual_access_type": "server", "allowed_access_types": ["admin"]},
    )
    other: Project = make_project()  # type: ignore[operator]
    created = new_key_set(http, other).json()
    r = http.get(f"/api/v1/internal/api-keys/{created['id']}", headers=project.headers("admin"))
    assert r.status_code == 404
    r = http.patch(
        f"/api/v1/internal/api-keys/{created['id']}",
        headers=project.headers("admin"),
        json={"revoked": True},
    )
    assert r.status_code == 404
