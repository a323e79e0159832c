"""GET /health/ready against real dependencies: a Redis of the test's own that it stops and starts
again, and a ClickHouse server and an S3 endpoint that are configured but closed ports."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.api.helpers import sign_up
from tests.conftest import running_api
from tests.factories import Project, free_port
from tests.mail import wait_until
from tests.mail_fixtures import PrivateRedis

# A check gives up after 1 s and an answer is reused for 1 s: a change shows within a few seconds.
CHANGE_BOUND_S = 8


def ready(http: httpx.Client) -> tuple[int, dict[str, Any], str]:
    r = http.get("/health/ready")
    return r.status_code, r.json(), r.text


def test_readiness_names_what_failed_and_recovers(
    migrated_database: str, private_redis: PrivateRedis, project: Project
) -> None:
    closed_clickhouse, closed_s3 = free_port(), free_port()
    env = {
        "STACK_REDIS_URL": private_redis.url,
        "STACK_HEALTH_CHECK_TIMEOUT_SECONDS": "1",
        "STACK_CLICKHOUSE_URL": f"http://127.0.0.1:{closed_clickhouse}",
        "STACK_CLICKHOUSE_ADMIN_PASSWORD": "clickhouse-password-never-shown",
        "STACK_S3_ENDPOINT": f"http://127.0.0.1:{closed_s3}",
        "STACK_S3_ACCESS_KEY_ID": "test-access-key",
        "STACK_S3_SECRET_ACCESS_KEY": "s3-secret-never-shown",
        "STACK_S3_BUCKET": "public-bucket",
        "STACK_S3_PRIVATE_BUCKET": "private-bucket",
    }
    with running_api(migrated_database, **env) as api, api.client() as http:
        # All required checks pass: ready, although the optional ClickHouse and S3 do not answer.
        status, body, _ = ready(http)
        assert status == 200, body
        assert body["status"] == "ok"
        assert "failed" not in body
        checks = body["checks"]
        assert set(checks) == {"postgres", "redis", "clickhouse", "s3"}
        assert checks["postgres"]["status"] == checks["redis"]["status"] == "ok"
        assert checks["postgres"]["required"] is checks["redis"]["required"] is True
        for optional in ("clickhouse", "s3"):
            assert checks[optional]["status"] == "error", checks
            assert checks[optional]["required"] is False
            assert checks[optional]["error"]

        # Redis goes away: not ready, naming redis, and nothing of its address or the secrets.
        private_redis.stop()
        status, body, text = wait_until(
            lambda: (answer := ready(http))[0] == 503 and answer, CHANGE_BOUND_S, what="503"
        )
        assert body["status"] == "error"
        assert body["failed"] == ["redis"]
        assert body["checks"]["redis"]["status"] == "error"
        assert body["checks"]["postgres"]["status"] == "ok"
        for secret in ("redis://", str(private_redis.port), str(closed_clickhouse),
                       str(closed_s3), "never-shown", "127.0.0.1"):  # fmt: skip
            assert secret not in text, secret
        # Liveness does not ask Redis; a rate-limited route keeps working (limits fail open)
        # and answers quickly.
        assert http.get("/health").json() == {"status": "ok"}
        started = time.monotonic()
        signed_up = sign_up(http, project)
        assert signed_up["user_id"]
        assert time.monotonic() - started < 5

        # Redis is back on the same port: ready again, without restarting the API.
        private_redis.start()
        status, body, _ = wait_until(
            lambda: (answer := ready(http))[0] == 200 and answer, CHANGE_BOUND_S, what="200"
        )
        assert body["status"] == "ok"
        assert body["checks"]["redis"]["status"] == "ok"
        assert api.process.poll() is None
