"""The metrics' building blocks in this process: who may scrape, the settings, Redis failures
counted, the pool sampled, the backlog read from a migrated database."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from authstack_core.domain.backlog import read_backlog
from authstack_core.domain.context import Deps
from authstack_core.jobs import SEND_EMAIL, EnqueueError, JobQueue
from authstack_core.observability import exposition, series
from authstack_core.observability.sampler import Sampler
from authstack_core.ratelimit import RateLimiter
from authstack_core.ratelimit_rules import parse_overrides, rules_from
from authstack_core.settings import Settings, SettingsError
from tests.conftest import SERVER_SECRET, settings_env
from tests.factories import free_port

TOKEN = "s3cr3t-scrape-token-0f9a8b7c6d5e"


def sample(name: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(name, labels)
    assert found is not None, name
    return found


@pytest.mark.parametrize(
    ("token", "authorization", "client", "production", "expected"),
    [
        (TOKEN, f"Bearer {TOKEN}", "203.0.113.9", True, "allowed"),
        (TOKEN, f"Bearer {TOKEN}x", "127.0.0.1", False, "unauthorized"),
        (TOKEN, TOKEN, "127.0.0.1", False, "unauthorized"),
        (TOKEN, "", "127.0.0.1", False, "unauthorized"),
        (TOKEN, "Bearer é", "127.0.0.1", False, "unauthorized"),
        (None, "", "127.0.0.1", False, "allowed"),
        (None, "", "::1", False, "allowed"),
        (None, "", "203.0.113.9", False, "hidden"),
        (None, "", None, False, "hidden"),
        (None, "", "127.0.0.1", True, "hidden"),
    ],
)
def test_who_may_scrape(
    token: str | None, authorization: str, client: str | None, production: bool, expected: str
) -> None:
    assert exposition.access(token, authorization, client, production=production) == expected


def test_empty_metrics_settings_mean_unset_and_production_refuses_a_weak_token(
    migrated_database: str,
) -> None:
    base = settings_env(migrated_database)
    s = Settings(**base, STACK_METRICS_TOKEN="", STACK_WORKER_METRICS_PORT="0")  # type: ignore[arg-type]
    assert (s.metrics_token, s.worker_metrics_port, s.worker_metrics_host) == (
        None,
        None,
        "127.0.0.1",
    )
    s = Settings(**base, STACK_WORKER_METRICS_PORT="9102")  # type: ignore[arg-type]
    assert s.worker_metrics_port == 9102
    with pytest.raises(SettingsError, match="STACK_METRICS_TOKEN"):
        Settings(
            **{**base, "STACK_ENVIRONMENT": "production"},  # type: ignore[arg-type]
            STACK_METRICS_TOKEN="changeme-metrics",
        )


async def test_a_failing_redis_is_counted_per_client() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RateLimiter(
        dead,
        namespace="metrics-test",
        secret=SERVER_SECRET,
        rules=rules_from(parse_overrides("")),
        timeout_s=0.2,
    )
    before = sample("authstack_redis_errors_total", client="rate_limit")
    await limiter.check("password_sign_in", ip="192.0.2.1")  # fails open
    await limiter.aclose()
    assert sample("authstack_redis_errors_total", client="rate_limit") == before + 1

    jobs_before = sample("authstack_redis_errors_total", client="jobs")
    settings = Settings(**settings_env("postgresql://unused/db", STACK_REDIS_URL=dead))  # type: ignore[arg-type]
    queue = JobQueue.from_settings(settings)
    with pytest.raises(EnqueueError):
        queue.send_now(SEND_EMAIL, str(uuid.uuid4()))
    queue.close()
    assert sample("authstack_redis_errors_total", client="jobs") == jobs_before + 1


async def test_the_sampler_reads_the_pool_in_use_and_its_size(migrated_database: str) -> None:
    pool = AsyncConnectionPool(migrated_database, min_size=1, max_size=3, open=False)
    await pool.open(wait=True)
    try:
        sampler = Sampler(pool)
        async with pool.connection():
            sampler.sample()
            assert sample("authstack_db_pool_in_use") == 1
            assert sample("authstack_db_pool_max") == 3
            assert sample("authstack_db_pool_waiting") == 0
        sampler.sample()
        assert sample("authstack_db_pool_in_use") == 0
    finally:
        await pool.close()


async def test_the_backlog_counts_what_waits(migrated_database: str) -> None:
    settings = Settings(**settings_env(migrated_database))  # type: ignore[arg-type]
    pool = AsyncConnectionPool(migrated_database, min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    tenancy = uuid.uuid4()
    try:
        deps = Deps.build(settings, pool)
        before = await read_backlog(deps)
        with psycopg.connect(migrated_database, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO external_db_sync_requests (tenancy_id, requested_at)"
                " VALUES (%s, now() - interval '90 seconds')",
                (tenancy,),
            )
        after = await read_backlog(deps)
        deps.jobs.close()
        assert after.external_db_sync == before.external_db_sync + 1
        assert after.sync_lag_seconds >= 90
        series.backlog(after)
        assert sample("authstack_queue_depth", queue="external_db_sync") == after.external_db_sync
        assert sample("authstack_external_db_sync_lag_seconds") == after.sync_lag_seconds
    finally:
        with psycopg.connect(migrated_database, autocommit=True) as conn:
            conn.execute("DELETE FROM external_db_sync_requests WHERE tenancy_id = %s", (tenancy,))
        await pool.close()


def test_webhook_results_map_to_outcomes() -> None:
    outcomes = ("sent", "retry", "failed")
    before = {o: sample("authstack_webhook_deliveries_total", outcome=o) for o in outcomes}
    series.webhook_deliveries([(True, None), (False, 5.0), (False, None), (False, None)])
    after = {o: sample("authstack_webhook_deliveries_total", outcome=o) for o in outcomes}
    assert {o: after[o] - before[o] for o in outcomes} == {"sent": 1, "retry": 1, "failed": 2}
