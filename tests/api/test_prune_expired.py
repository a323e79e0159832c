"""POST /internal/prune-expired: rows whose expiry passed STACK_PRUNE_GRACE_DAYS (7) ago are deleted
in bounded batches, from the five tables whose rows expire; rows inside the grace period, live
rows, sessions that never expire and sessions the metrics still count stay.

The session database is shared and the prune spans every tenancy, so counts are checked as "at
least this test's rows" and presence is checked on this test's own rows.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from authstack_core.domain import prune
from authstack_core.domain.context import Deps
from authstack_core.settings import Settings
from tests.api.helpers import assert_known_error, create_user, refresh, sign_up
from tests.conftest import CRON_SECRET, SERVER_SECRET, Project, settings_env
from tests.environment import settings_error, use_only

PATH = "/api/v1/internal/prune-expired"
CRON = {"authorization": f"Bearer {CRON_SECRET}"}
DAY = timedelta(days=1)
GRACE = 7 * DAY
# Past the grace and past the metrics' activity window (31 days), which sessions must also be.
OLD = 40 * DAY
NOT_SESSIONS = tuple(t for t in prune.TABLES if t != "refresh_tokens")
# Each table's row key as the test finds it again: (table, key columns, key values).
Key = tuple[str, tuple[str, ...], tuple[Any, ...]]


def _hash() -> bytes:
    return secrets.token_bytes(32)


def seed_row(
    conn: psycopg.Connection[Any],
    project: Project,
    user_id: str,
    table: str,
    expires_at: datetime | None,
    last_active_at: datetime | None = None,
) -> Key:
    """One row of ``table`` in ``project`` expiring at ``expires_at``; its key."""
    tenancy = project.tenancy_id
    if table == "verification_codes":
        code_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO verification_codes (project_id, branch_id, id, type, code_hash,"
            " nonce_hash, expires_at) VALUES (%s, 'main', %s, 'PASSWORD_RESET', %s, %s, %s)",
            (project.id, code_id, _hash(), _hash(), expires_at),
        )
        return (table, ("project_id", "branch_id", "id"), (project.id, "main", code_id))
    if table == "oauth_outer_infos":
        state = _hash()
        conn.execute(
            "INSERT INTO oauth_outer_infos (inner_state_hash, tenancy_id, project_id, branch_id,"
            " provider_config_id, flow_type, redirect_uri, outer_state, code_challenge,"
            " inner_code_verifier, nonce, cookie_required, expires_at) VALUES (%s, %s, %s,"
            " 'main', 'github', 'authenticate', 'http://localhost:3000/cb', 's', 'c', 'v', 'n',"
            " false, %s)",
            (state, tenancy, project.id, expires_at),
        )
        return (table, ("inner_state_hash",), (state,))
    if table == "oauth_authorization_codes":
        code = _hash()
        conn.execute(
            "INSERT INTO oauth_authorization_codes (code_hash, tenancy_id, user_id, redirect_uri,"
            " code_challenge, is_new_user, expires_at) VALUES (%s, %s, %s,"
            " 'http://localhost:3000/cb', 'c', false, %s)",
            (code, tenancy, user_id, expires_at),
        )
        return (table, ("code_hash",), (code,))
    row_id = uuid.uuid4()
    if table == "cli_auth_attempts":
        conn.execute(
            "INSERT INTO cli_auth_attempts (tenancy_id, id, polling_code_hash, login_code_hash,"
            " expires_at) VALUES (%s, %s, %s, %s, %s)",
            (tenancy, row_id, _hash(), _hash(), expires_at),
        )
        return (table, ("tenancy_id", "id"), (tenancy, row_id))
    assert table == "refresh_tokens"
    # A session is last used before it expires; by default, a day before.
    used = last_active_at or (expires_at - DAY if expires_at else datetime.now(UTC) - 400 * DAY)
    conn.execute(
        "INSERT INTO refresh_tokens (tenancy_id, id, user_id, token_hash, expires_at, created_at,"
        " last_active_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (tenancy, row_id, user_id, _hash(), expires_at, used, used),
    )
    return (table, ("tenancy_id", "id"), (tenancy, row_id))


def present(database_url: str, keys: list[Key]) -> list[bool]:
    """Whether each row is still there."""
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE ({}) = ({}))")
    with psycopg.connect(database_url) as conn:
        return [
            conn.execute(
                query.format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(sql.Placeholder() * len(values)),
                ),
                values,
            ).fetchone()
            == (True,)
            for table, columns, values in keys
        ]


Seeder = Callable[..., list[Key]]


@pytest.fixture
def seed(http: httpx.Client, project: Project, migrated_database: str) -> Seeder:
    """Rows of every table expiring at ``ago`` before now (a negative ``ago``: in the future)."""
    user_id = create_user(http, project)["id"]

    def make(
        ago: timedelta, *, tables: tuple[str, ...] = prune.TABLES, count: int = 1
    ) -> list[Key]:
        at = datetime.now(UTC) - ago
        with psycopg.connect(migrated_database) as conn:
            return [
                seed_row(conn, project, user_id, table, at)
                for table in tables
                for _ in range(count)
            ]

    return make


def call(http: httpx.Client, **params: str) -> dict[str, Any]:
    r = http.post(PATH, headers=CRON, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["ok"] is True
    assert list(body["deleted"]) == list(prune.TABLES)
    return body


def test_rows_expired_past_the_grace_go_and_the_others_stay(
    http: httpx.Client, project: Project, migrated_database: str, seed: Seeder
) -> None:
    old = [*seed(OLD), *seed(GRACE + DAY, tables=NOT_SESSIONS)]
    inside_grace = seed(GRACE - DAY)
    live = seed(-DAY)
    user_id = create_user(http, project)["id"]
    with psycopg.connect(migrated_database) as conn:
        never_expires = seed_row(conn, project, user_id, "refresh_tokens", None)
        # Expired 8 days ago but used 9 days ago: the metrics' 30-day activity still counts it.
        counted = seed_row(
            conn, project, user_id, "refresh_tokens", datetime.now(UTC) - GRACE - DAY
        )
    session = sign_up(http, project)

    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": CRON_SECRET}):
        assert http.post(PATH, headers=headers).status_code == 401
    assert all(present(migrated_database, old))

    body = call(http)
    assert body["complete"] is True
    assert all(body["deleted"][table] >= 1 for table in prune.TABLES), body
    assert present(migrated_database, old) == [False] * len(old)
    kept = [*inside_grace, *live, never_expires, counted]
    assert all(present(migrated_database, kept))
    assert refresh(http, project, session["refresh_token"]).status_code == 200


def test_a_spent_budget_answers_incomplete_and_the_next_call_finishes(
    http: httpx.Client, migrated_database: str, seed: Seeder
) -> None:
    old = seed(OLD)
    body = call(http, maxDurationMs="0")
    assert body["complete"] is False
    assert body["deleted"] == dict.fromkeys(prune.TABLES, 0)
    assert all(present(migrated_database, old))

    assert call(http)["complete"] is True
    assert not any(present(migrated_database, old))


@pytest.mark.parametrize("value", ["-1", "soon", "1.5"])
def test_a_malformed_budget_is_a_schema_error(http: httpx.Client, value: str) -> None:
    r = http.post(PATH, headers=CRON, params={"maxDurationMs": value})
    assert_known_error(r, "SCHEMA_ERROR", 400)


@pytest.fixture
async def make_deps(migrated_database: str) -> AsyncIterator[Callable[..., Deps]]:
    """Deps over the session database, with extra settings variables given by name."""
    async with AsyncConnectionPool(migrated_database, min_size=1, max_size=2) as pool:
        built: list[Deps] = []

        def make(**extra: str) -> Deps:
            settings = Settings(**settings_env(migrated_database, **extra))  # type: ignore[arg-type]
            built.append(Deps.build(settings, pool))
            return built[-1]

        try:
            yield make
        finally:
            for deps in built:
                deps.jobs.close()


class StepClock:
    """A clock that moves one second at every reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


async def test_batches_are_bounded_and_repeat_until_the_backlog_is_gone(
    make_deps: Callable[..., Deps], migrated_database: str, seed: Seeder
) -> None:
    deps = make_deps()
    old = seed(OLD, tables=("verification_codes", "refresh_tokens"), count=5)

    # Readings: 1 the start (deadline 4), 2 the pass, 3 the first batch (runs), 4 the second
    # (time is up). So exactly one batch ran, of at most batch_size rows.
    one_batch = await prune.prune_expired(deps, 3000, batch_size=2, clock=StepClock())
    assert one_batch.complete is False
    assert one_batch.deleted == {**dict.fromkeys(prune.TABLES, 0), "verification_codes": 2}
    assert sum(present(migrated_database, old)) >= len(old) - 2

    result = await prune.prune_expired(deps, batch_size=2)
    assert result.complete is True
    assert result.deleted["verification_codes"] >= 3
    assert result.deleted["refresh_tokens"] >= 5
    assert not any(present(migrated_database, old))


async def test_the_grace_period_is_the_setting(
    make_deps: Callable[..., Deps], migrated_database: str, seed: Seeder
) -> None:
    just_expired = seed(timedelta(minutes=1), tables=("verification_codes", "cli_auth_attempts"))
    await prune.prune_expired(make_deps())
    assert all(present(migrated_database, just_expired))
    await prune.prune_expired(make_deps(STACK_PRUNE_GRACE_DAYS="0"))
    assert not any(present(migrated_database, just_expired))


def test_the_grace_setting_defaults_to_7_days_and_refuses_negative_values(
    monkeypatch: pytest.MonkeyPatch, migrated_database: str
) -> None:
    use_only(
        monkeypatch,
        {
            "STACK_DATABASE_CONNECTION_STRING": migrated_database,
            "STACK_SERVER_SECRET": SERVER_SECRET,
        },
    )
    assert Settings.from_env().prune_grace_days == 7
    monkeypatch.setenv("STACK_PRUNE_GRACE_DAYS", "0")
    assert Settings.from_env().prune_grace_days == 0
    monkeypatch.setenv("STACK_PRUNE_GRACE_DAYS", "-1")
    assert "STACK_PRUNE_GRACE_DAYS" in settings_error()
