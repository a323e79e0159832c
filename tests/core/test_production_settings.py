"""Production mode refuses to start with example, weak or missing secrets, naming each variable."""

from __future__ import annotations

import base64
import os
import random
import secrets

import pytest

from authstack_core.crypto.codes import CROCKFORD, new_project_key
from authstack_core.secret_policy import check_value
from authstack_core.settings import DashboardSettings, Settings, SettingsError
from tests.conftest import ADMIN_PASSWORD, INTERNAL_KEYS, SERVER_SECRET
from tests.environment import settings_error, use_only


def strong_environment() -> dict[str, str]:
    """What `deploy/make-env.py` writes: every secret freshly generated."""
    return {
        "STACK_ENVIRONMENT": "production",
        "STACK_DATABASE_CONNECTION_STRING": (
            f"postgresql://authstack:{secrets.token_urlsafe(32)}@postgres:5432/authstack"
        ),
        "STACK_SERVER_SECRET": secrets.token_urlsafe(32),
        "CRON_SECRET": secrets.token_urlsafe(32),
        "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": new_project_key("pck"),
        "STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY": new_project_key("ssk"),
        "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY": new_project_key("sak"),
        "STACK_SEED_INTERNAL_PROJECT_USER_EMAIL": "admin@example.com",
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD": secrets.token_urlsafe(18),
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    use_only(monkeypatch, strong_environment())
    return monkeypatch


def refusal(env: pytest.MonkeyPatch) -> str:
    """The start-up error; some values are already refused by the checks of every mode."""
    message = settings_error()
    assert message.startswith(("refusing to start in production mode", "invalid configuration"))
    return message


def test_generated_secrets_start_in_production(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings.is_production


def test_development_is_the_default_and_accepts_the_test_fixtures(
    env: pytest.MonkeyPatch,
) -> None:
    env.delenv("STACK_ENVIRONMENT")
    env.setenv("STACK_SERVER_SECRET", SERVER_SECRET)
    env.delenv("CRON_SECRET")
    assert Settings.from_env().environment == "development"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # the test suite's fixed secret: base64url of a readable phrase
        ("STACK_SERVER_SECRET", SERVER_SECRET),
        # 16 random bytes: enough for development, not for production
        ("STACK_SERVER_SECRET", base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")),
        ("STACK_SERVER_SECRET", "<base64url secret>"),
        ("CRON_SECRET", "<secret>"),
        ("CRON_SECRET", "change-me-please-now"),
        ("CRON_SECRET", "short"),
        ("CRON_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY", "pck_<random>"),
        ("STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY", INTERNAL_KEYS["secret_server_key"]),
        ("STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY", "sak_abc"),
        ("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD", ADMIN_PASSWORD),
        ("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD", "<admin password>"),
        ("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD", "hunter2"),
        (
            "STACK_DATABASE_CONNECTION_STRING",
            "postgresql://postgres:postgres@postgres:5432/authstack",
        ),
        (
            "STACK_DATABASE_CONNECTION_STRING",
            "postgresql://authstack:PASSWORD-PLEASE-CHANGE@db/authstack",
        ),
        ("STACK_DATABASE_CONNECTION_STRING", "postgresql://authstack:hunter2@db/authstack"),
        ("STACK_ALLOW_DEVELOPMENT_KEY_OVERRIDE", "true"),
    ],
)
def test_example_or_weak_value_is_refused_naming_the_variable(
    env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    env.setenv(variable, value)
    message = refusal(env)
    assert f"  - {variable}: " in message
    # exactly one complaint: the other generated secrets pass
    assert message.count("\n  - ") == 1
    # the offending value itself is never echoed
    if len(value) > 5:
        assert value not in message


@pytest.mark.parametrize("variable", ["STACK_SERVER_SECRET", "CRON_SECRET"])
def test_missing_required_secret_is_refused(env: pytest.MonkeyPatch, variable: str) -> None:
    env.delenv(variable)
    message = refusal(env)
    assert f"  - {variable}: " in message


def test_every_problem_is_listed_at_once(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_SERVER_SECRET", SERVER_SECRET)
    env.setenv("CRON_SECRET", "<secret>")
    env.setenv("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD", "password")
    message = refusal(env)
    for variable in (
        "STACK_SERVER_SECRET",
        "CRON_SECRET",
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD",
    ):
        assert f"  - {variable}: " in message


def test_optional_secrets_may_be_absent(env: pytest.MonkeyPatch) -> None:
    """Seed keys and the admin login are optional; a password-less connection string is fine."""
    for name in (
        "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY",
        "STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY",
        "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY",
        "STACK_SEED_INTERNAL_PROJECT_USER_EMAIL",
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD",
    ):
        env.delenv(name)
    env.setenv("STACK_DATABASE_CONNECTION_STRING", "postgresql://authstack@db.internal/authstack")
    assert Settings.from_env().is_production


def test_settings_built_directly_are_checked_too() -> None:
    with pytest.raises(SettingsError):
        Settings(
            environment="production",
            database_url="postgresql://postgres@127.0.0.1/x",
            server_secret=SERVER_SECRET,
            cron_secret=secrets.token_urlsafe(32),
        )


def test_random_secrets_of_every_kind_pass_many_times() -> None:
    """Generated-looking values do not trip the placeholder fragments.

    The sample comes from a seeded generator so the test is deterministic: a marker like
    "test-" occurs in a truly random token about once in a few hundred thousand, which made a
    fresh random sample fail now and then without anything being wrong.
    """
    rng = random.Random(20261127)

    def token(n: int) -> str:
        return base64.urlsafe_b64encode(rng.randbytes(n)).rstrip(b"=").decode()

    for _ in range(2000):
        assert check_value(token(32), "server_secret") is None
        assert check_value(token(32), "generated") is None
        key = "ssk_" + "".join(rng.choice(CROCKFORD) for _ in range(45))
        assert check_value(key, "project_key") is None
        assert check_value(token(18), "admin_password") is None


def test_unknown_environment_name_is_an_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_ENVIRONMENT", "prod")
    assert "  - STACK_ENVIRONMENT: " in settings_error()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STACK_DASHBOARD_SESSION_SECRET", "change-me-change-me-change-me-change-me"),
        ("STACK_DASHBOARD_SESSION_SECRET", "a" * 40),
        ("NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY", INTERNAL_KEYS["publishable_client_key"]),
    ],
)
def test_dashboard_refuses_example_secrets_in_production(
    env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    env.setenv("STACK_DASHBOARD_SESSION_SECRET", secrets.token_urlsafe(32))
    env.setenv("NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY", new_project_key("pck"))
    assert DashboardSettings.from_env().is_production
    env.setenv(variable, value)
    message = settings_error(DashboardSettings.from_env)
    assert message.startswith("refusing to start in production mode")
    assert f"  - {variable}: " in message
    assert value not in message


def test_dashboard_in_development_keeps_its_own_rules(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_ENVIRONMENT", "development")
    env.setenv("STACK_DASHBOARD_SESSION_SECRET", "a" * 40)
    assert DashboardSettings.from_env().environment == "development"


def test_an_example_s3_secret_key_is_refused_in_production(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_S3_ENDPOINT", "https://s3.example.com")
    env.setenv("STACK_S3_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    env.setenv("STACK_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    env.setenv("STACK_S3_BUCKET", "files")
    env.setenv("STACK_S3_PRIVATE_BUCKET", "replays")
    message = refusal(env)
    assert "STACK_S3_SECRET_ACCESS_KEY" in message
    assert "EXAMPLEKEY" not in message
