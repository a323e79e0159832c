"""The API's start-up check of file storage: loud in production mode, a warning elsewhere."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.conftest import running_api, settings_env
from tests.factories import free_port, stop_process, wait_healthy

STARTUP_TIMEOUT_S = 60
SEED_VARIABLES = (
    "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY",
    "STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY",
    "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY",
    "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD",
)


def production_env(database_url: str, s3: dict[str, str], **extra: str) -> dict[str, str]:
    """What production mode accepts: generated secrets (the seed's test keys are left out)."""
    env = settings_env(database_url, **{**s3, **extra})
    for name in SEED_VARIABLES:
        env.pop(name)
    env.update(
        STACK_ENVIRONMENT="production",
        STACK_SERVER_SECRET=secrets.token_urlsafe(32),
        CRON_SECRET=secrets.token_urlsafe(32),
    )
    return env


def clean_environment() -> dict[str, str]:
    """This process's environment without any settings variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("STACK_", "CRON_SECRET"))}


def api_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m authstack_api`` expecting it to stop by itself."""
    return subprocess.run(
        [sys.executable, "-m", "authstack_api"],
        env={**clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
    )


def test_wrong_secret_key_stops_the_api_in_production(s3_env: dict[str, str]) -> None:
    wrong = secrets.token_urlsafe(30)
    env = production_env("postgresql://127.0.0.1:1/unused", s3_env)
    env["STACK_S3_SECRET_ACCESS_KEY"] = wrong
    done = api_exit(env)
    assert done.returncode == 2, done.stderr
    assert "STACK_S3_SECRET_ACCESS_KEY" in done.stderr
    assert "refused these credentials" in done.stderr
    for secret in (wrong, s3_env["STACK_S3_SECRET_ACCESS_KEY"]):
        assert secret not in done.stderr
        assert secret not in done.stdout


def test_missing_bucket_stops_the_api_in_production(s3_env: dict[str, str]) -> None:
    env = production_env(
        "postgresql://127.0.0.1:1/unused", s3_env, STACK_S3_PRIVATE_BUCKET="no-such-bucket"
    )
    done = api_exit(env)
    assert done.returncode == 2, done.stderr
    assert "STACK_S3_PRIVATE_BUCKET" in done.stderr
    assert "'no-such-bucket' does not exist" in done.stderr


def test_unreachable_storage_stops_the_api_in_production(s3_env: dict[str, str]) -> None:
    env = production_env(
        "postgresql://127.0.0.1:1/unused",
        s3_env,
        STACK_S3_ENDPOINT="http://127.0.0.1:1",
        STACK_S3_CONNECT_TIMEOUT_SECONDS="1",
    )
    done = api_exit(env)
    assert done.returncode == 2, done.stderr
    assert "STACK_S3_ENDPOINT: http://127.0.0.1:1 did not answer" in done.stderr


def test_endpoint_without_credentials_is_a_configuration_error(s3_env: dict[str, str]) -> None:
    env = settings_env(
        "postgresql://127.0.0.1:1/unused", STACK_S3_ENDPOINT=s3_env["STACK_S3_ENDPOINT"]
    )
    done = api_exit(env)
    assert done.returncode == 2, done.stderr
    assert "STACK_S3_ACCESS_KEY_ID, STACK_S3_SECRET_ACCESS_KEY" in done.stderr


def test_right_credentials_start_in_production(
    migrated_database: str, s3_env: dict[str, str]
) -> None:
    port = free_port()
    env = {**clean_environment(), **production_env(migrated_database, s3_env)}
    env.update(STACK_API_PORT=str(port), STACK_API_HOST="127.0.0.1")
    process = subprocess.Popen([sys.executable, "-m", "authstack_api"], env=env)
    try:
        wait_healthy(process, f"http://127.0.0.1:{port}/health", "API")
    finally:
        stop_process(process)


def test_wrong_secret_key_is_a_warning_outside_production(
    migrated_database: str, s3_env: dict[str, str]
) -> None:
    env = {**s3_env, "STACK_S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)}
    with running_api(migrated_database, **env) as api, api.client() as client:
        assert client.get("/health").status_code == 200
