"""The outage and readiness settings, and which database errors count as an outage (503)."""

from __future__ import annotations

import psycopg
import pytest

from authstack_core.db.pool import database_unavailable, make_pool
from authstack_core.settings import Settings
from tests.environment import settings_error, use_only
from tests.factories import free_port

SECRET = "dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, migrated_database: str) -> pytest.MonkeyPatch:
    use_only(
        monkeypatch,
        {"STACK_DATABASE_CONNECTION_STRING": migrated_database, "STACK_SERVER_SECRET": SECRET},
    )
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings.db_pool_timeout_seconds == 3.0
    assert settings.health_check_timeout_seconds == 2.0
    assert settings.health_ready_required == ("postgres", "redis")


def test_required_checks_are_a_comma_separated_list_of_known_names(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("STACK_HEALTH_READY_REQUIRED", " Postgres, s3 ,postgres")
    assert Settings.from_env().health_ready_required == ("postgres", "s3")
    env.setenv("STACK_HEALTH_READY_REQUIRED", "postgres,mysql")
    message = settings_error()
    assert "STACK_HEALTH_READY_REQUIRED" in message
    assert "mysql" in message


def test_the_pool_waits_the_configured_time(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_DATABASE_POOL_TIMEOUT_SECONDS", "1.5")
    assert make_pool(Settings.from_env()).timeout == 1.5
    env.setenv("STACK_DATABASE_POOL_TIMEOUT_SECONDS", "0")
    assert "STACK_DATABASE_POOL_TIMEOUT_SECONDS" in settings_error()


async def test_an_unreachable_database_is_an_outage_and_a_bad_query_is_not(
    migrated_database: str,
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(psycopg.OperationalError) as refused:
        await psycopg.AsyncConnection.connect(closed, connect_timeout=2)
    assert database_unavailable(refused.value)
    # Wrapped by the code that caught it, it is still an outage.
    wrapped = RuntimeError("while loading the project")
    wrapped.__cause__ = refused.value
    assert database_unavailable(wrapped)

    async with await psycopg.AsyncConnection.connect(migrated_database, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable) as missing:
            await conn.execute("SELECT * FROM no_such_table")
        await conn.execute("SET statement_timeout = '10ms'")
        with pytest.raises(psycopg.errors.QueryCanceled) as canceled:
            await conn.execute("SELECT pg_sleep(1)")
    assert not database_unavailable(missing.value)
    assert not database_unavailable(canceled.value)  # a slow query is a bug, not an outage
