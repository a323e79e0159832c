"""The per-process project cache across two API processes on one database: what one changes, the
other stops serving within a second; what one writes, it reads back at once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from authstack_core.crypto.codes import new_project_key, sha256_bytes
from tests.api.cache_helpers import CACHE_ENV, figures, listener_backends, wait_listening, within
from tests.api.helpers import assert_known_error
from tests.conftest import ApiServer, Project, running_api, start_api, stop_api

DEADLINE_S = 1.0
# A request each access type may make with nothing but its key.
KIND_PATHS = {
    "client": "/api/v1/projects/current",
    "server": "/api/v1/users",
    "admin": "/api/v1/internal/api-keys",
}
TEAMS = "teams.allowClientTeamCreation"


@pytest.fixture(scope="module")
def replicas(migrated_database: str) -> Iterator[tuple[ApiServer, ApiServer]]:
    a = start_api(migrated_database, **CACHE_ENV)
    try:
        b = start_api(migrated_database, **CACHE_ENV)
        try:
            wait_listening(a)
            wait_listening(b)
            yield a, b
        finally:
            stop_api(b)
    finally:
        stop_api(a)


@pytest.fixture
def clients(replicas: tuple[ApiServer, ApiServer]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    a, b = replicas
    with a.client() as ha, b.client() as hb:
        yield ha, hb


def new_key_set(
    http: httpx.Client, project: Project, expires_at: float | None = None
) -> tuple[Project, str]:
    """A key set made through the API: the project with its keys, and the set's id."""
    r = http.post(
        "/api/v1/internal/api-keys",
        headers=project.headers("admin"),
        json={
            "description": "cache test",
            "expires_at_millis": int((expires_at or time.time() + 86_400) * 1000),
            "has_publishable_client_key": True,
            "has_secret_server_key": True,
            "has_super_secret_admin_key": True,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    keys = (body["publishable_client_key"], body["secret_server_key"])
    fresh = Project(project.id, project.tenancy_id, *keys, body["super_secret_admin_key"])
    return fresh, body["id"]


def server_status(http: httpx.Client, project: Project) -> int:
    return http.get("/api/v1/users", headers=project.headers("server")).status_code


def warm(server: ApiServer, http: httpx.Client, project: Project) -> None:
    """Read ``project`` on ``server`` until it is served from the cache."""
    before = figures(server).hits
    for _ in range(2):
        assert server_status(http, project) == 200
    assert figures(server).hits > before, "the project was not served from the cache"


def rendered(http: httpx.Client, project: Project) -> dict[str, Any]:
    r = http.get("/api/v1/internal/config", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    value: dict[str, Any] = json.loads(r.json()["config_string"])
    return value


def teams_allowed(http: httpx.Client, project: Project) -> bool:
    return bool(rendered(http, project)["teams"]["allowClientTeamCreation"])


def set_teams_allowed(http: httpx.Client, project: Project, allowed: bool) -> None:
    r = http.patch(
        "/api/v1/internal/config/override/environment",
        headers=project.headers("admin"),
        json={"config_override_string": json.dumps({TEAMS: allowed})},
    )
    assert r.status_code == 200, r.text


def test_a_config_change_on_one_replica_is_seen_by_the_other_within_a_second(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
) -> None:
    _, b = replicas
    ha, hb = clients
    warm(b, hb, project)
    before = teams_allowed(hb, project)
    set_teams_allowed(ha, project, not before)
    waited = within(5, lambda: teams_allowed(hb, project) is not before)
    assert waited is not None
    assert waited < DEADLINE_S


def test_a_revoked_key_is_refused_by_the_other_replica_within_a_second(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
) -> None:
    _, b = replicas
    ha, hb = clients
    keys, key_set_id = new_key_set(ha, project)
    warm(b, hb, keys)
    r = ha.patch(
        f"/api/v1/internal/api-keys/{key_set_id}",
        headers=project.headers("admin"),
        json={"revoked": True},
    )
    assert r.status_code == 200, r.text
    waited = within(5, lambda: server_status(hb, keys) == 401)
    assert waited is not None
    assert waited < DEADLINE_S
    r = hb.get("/api/v1/users", headers=keys.headers("server"))
    assert_known_error(r, "INVALID_SECRET_SERVER_KEY", 401, {"project_id": project.id})
    # The project's other key set still works on both.
    assert server_status(ha, project) == 200
    assert server_status(hb, project) == 200


def test_a_project_deleted_on_one_replica_is_refused_by_both(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
) -> None:
    a, b = replicas
    ha, hb = clients
    warm(a, ha, project)
    warm(b, hb, project)
    r = ha.delete("/api/v1/internal/projects/current", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    # The replica that deleted it refuses at once; the other within the second.
    r = ha.get("/api/v1/users", headers=project.headers("server"))
    assert_known_error(r, "CURRENT_PROJECT_NOT_FOUND", 400)
    waited = within(5, lambda: server_status(hb, project) == 400)
    assert waited is not None
    assert waited < DEADLINE_S


def test_a_deleted_project_is_never_served_again_under_load(
    replicas: tuple[ApiServer, ApiServer], project: Project, migrated_database: str
) -> None:
    """Reads racing the deletion (begun before it, finished after) store nothing: once B has
    refused the project, every request begun after that is refused too."""
    _, b = replicas
    answers: list[tuple[float, float, int]] = []  # (sent, answered, status)
    stop = threading.Event()

    def hammer() -> None:
        with b.client() as http:
            while not stop.is_set():
                sent = time.monotonic()
                status = server_status(http, project)
                answers.append((sent, time.monotonic(), status))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        with psycopg.connect(migrated_database) as conn:
            conn.execute("DELETE FROM projects WHERE id = %s", (project.id,))
        deleted_at = time.monotonic()
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert {status for *_, status in answers} == {200, 400}
    refused_at = min(answered for _, answered, status in answers if status == 400)
    assert refused_at - deleted_at < DEADLINE_S
    later = [status for sent, _, status in answers if sent > refused_at]
    assert len(later) > 20
    assert set(later) == {400}, f"{later.count(200)} answers served the deleted project"


def test_the_replica_that_writes_reads_its_change_on_the_next_request(
    clients: tuple[httpx.Client, httpx.Client], project: Project
) -> None:
    ha, _ = clients
    state = teams_allowed(ha, project)
    for _ in range(10):
        state = not state
        set_teams_allowed(ha, project, state)
        assert teams_allowed(ha, project) is state
    keys, _ = new_key_set(ha, project)
    assert server_status(ha, keys) == 200


def test_a_key_the_cached_copy_lacks_is_looked_up_before_it_is_refused(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
    migrated_database: str,
) -> None:
    """A key set made a moment ago through another replica works at once: here one inserted
    with its notice suppressed, so only a fresh read can know it."""
    _, b = replicas
    _, hb = clients
    warm(b, hb, project)
    pck, ssk, sak = (new_project_key(prefix) for prefix in ("pck", "ssk", "sak"))
    with psycopg.connect(migrated_database) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO api_key_sets (project_id, id, publishable_client_key_hash,"
            " secret_server_key_hash, super_secret_admin_key_hash) VALUES (%s, %s, %s, %s, %s)",
            (project.id, uuid.uuid4(), sha256_bytes(pck), sha256_bytes(ssk), sha256_bytes(sak)),
        )
    keys = Project(project.id, project.tenancy_id, pck, ssk, sak)
    for kind, path in KIND_PATHS.items():
        r = hb.get(path, headers=keys.headers(kind))
        assert r.status_code == 200, (kind, r.text)
    # A wrong key is still refused (after its one fresh read).
    wrong = Project(project.id, project.tenancy_id, "pck_x", "ssk_x", "sak_x")
    r = hb.get("/api/v1/users", headers=wrong.headers("server"))
    assert_known_error(r, "INVALID_SECRET_SERVER_KEY", 401, {"project_id": project.id})


def test_an_expired_key_is_refused_without_any_invalidation(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
) -> None:
    _, b = replicas
    ha, hb = clients
    expires_at = time.time() + 3
    keys, _ = new_key_set(ha, project, expires_at)
    time.sleep(0.2)  # the key set's notice has been handled by now
    warm(b, hb, keys)
    before = figures(b)
    while time.time() < expires_at - 0.3:
        assert server_status(hb, keys) == 200
        time.sleep(0.2)
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    r = hb.get("/api/v1/users", headers=keys.headers("server"))
    assert_known_error(r, "INVALID_SECRET_SERVER_KEY", 401, {"project_id": project.id})
    after = figures(b)
    assert (after.invalidations, after.flushes) == (before.invalidations, before.flushes)
    assert after.hits > before.hits  # it was served from the cache until the key expired


def test_a_rolled_back_write_changes_nothing(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
    migrated_database: str,
) -> None:
    _, b = replicas
    _, hb = clients
    warm(b, hb, project)
    before = figures(b)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "UPDATE api_key_sets SET manually_revoked_at = now() WHERE project_id = %s",
            (project.id,),
        )
        conn.execute("DELETE FROM projects WHERE id = %s", (project.id,))
        conn.rollback()
    time.sleep(0.5)
    assert server_status(hb, project) == 200
    after = figures(b)
    assert (after.invalidations, after.flushes) == (before.invalidations, before.flushes)
    assert after.hits > before.hits


def test_missing_projects_and_branches_are_not_kept(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
    migrated_database: str,
) -> None:
    """No negative caching: made-up ids do not fill the cache, and a branch created by anyone
    is usable on the very next request."""
    _, b = replicas
    _, hb = clients
    entries = figures(b).entries
    for _ in range(20):
        ghost = Project(str(uuid.uuid4()), "", "", project.secret_server_key, "")
        assert server_status(hb, ghost) == 400
    staging = project.headers("server", **{"x-stack-branch-id": "staging"})
    r = hb.get("/api/v1/users", headers=staging)
    assert_known_error(r, "BRANCH_DOES_NOT_EXIST", 400)
    assert figures(b).entries == entries
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "INSERT INTO tenancies (id, project_id, branch_id) VALUES (%s, %s, 'staging')",
            (uuid.uuid4(), project.id),
        )
    assert hb.get("/api/v1/users", headers=staging).status_code == 200


def display_name(http: httpx.Client, project: Project) -> str:
    r = http.get("/api/v1/projects/current", headers=project.headers("client"))
    assert r.status_code == 200, r.text
    name: str = r.json()["display_name"]
    return name


def test_a_dropped_listener_connection_flushes_the_cache_which_then_recovers(
    replicas: tuple[ApiServer, ApiServer],
    clients: tuple[httpx.Client, httpx.Client],
    project: Project,
    migrated_database: str,
) -> None:
    _, b = replicas
    _, hb = clients
    original = display_name(hb, project)
    (listener,) = listener_backends(b)
    # A write that fires no trigger (replica mode skips ordinary triggers): B keeps serving its
    # copy, which shows that copy is what B serves.
    with psycopg.connect(migrated_database) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE projects SET display_name = 'renamed silently' WHERE id = %s", (project.id,)
        )
    time.sleep(0.3)
    assert display_name(hb, project) == original
    flushes = figures(b).flushes
    with psycopg.connect(migrated_database, autocommit=True) as conn:
        (killed,) = conn.execute("SELECT pg_terminate_backend(%s)", (listener,)).fetchone()
    assert killed
    # The loss flushed the cache and a new connection listens (flushing once more): the silent
    # write is read from PostgreSQL.
    assert within(5, lambda: display_name(hb, project) == "renamed silently") is not None
    wait_listening(b)
    after = figures(b)
    assert after.flushes >= flushes + 2
    (new_listener,) = listener_backends(b)
    assert new_listener != listener
    # ... and the cache is used again.
    display_name(hb, project)
    hits = figures(b).hits
    display_name(hb, project)
    assert figures(b).hits > hits


def test_a_ttl_of_zero_turns_the_cache_off(migrated_database: str, project: Project) -> None:
    env = {**CACHE_ENV, "STACK_PROJECT_CACHE_TTL_SECONDS": "0"}
    with running_api(migrated_database, **env) as server, server.client() as http:
        for _ in range(3):
            assert server_status(http, project) == 200
        off = figures(server)
        assert listener_backends(server) == []
    assert (off.hits, off.misses, off.bypassed, off.listening) == (0, 0, 0, False)
