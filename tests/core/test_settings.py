"""Settings from the environment: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import pytest

from authstack_core.settings import Settings, SettingsError
from authstack_core.timespan import parse_timespan
from tests.environment import settings_error, use_only

SECRET = "dGVzdC1zZXJ2ZXItc2VjcmV0LWZvci1hdXRoc3RhY2stdGVzdHM"
DB = "postgresql://postgres@127.0.0.1:5432/authstack"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A process environment holding only the two required variables."""
    use_only(monkeypatch, {"STACK_DATABASE_CONNECTION_STRING": DB, "STACK_SERVER_SECRET": SECRET})
    return monkeypatch


def test_minimal_environment_gives_the_documented_defaults(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings.database_url == DB
    assert settings.server_secret == SECRET
    assert settings.access_token_expiration == 600  # upstream's default "10min"
    assert settings.api_url == "http://localhost:8102"
    assert settings.max_body_bytes == 2_097_152
    assert settings.should_migrate is True
    assert settings.should_seed is True


def test_secrets_are_not_in_the_repr(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY", "sak_do_not_print_me_please")
    text = repr(Settings.from_env())
    assert SECRET not in text
    assert "sak_do_not_print_me_please" not in text


@pytest.mark.parametrize(
    ("value", "seconds"), [("10min", 600), ("60s", 60), ("1h", 3600), ("2 hours", 7200)]
)
def test_expiration_time_is_a_jose_timespan(
    env: pytest.MonkeyPatch, value: str, seconds: int
) -> None:
    env.setenv("STACK_ACCESS_TOKEN_EXPIRATION_TIME", value)
    assert Settings.from_env().access_token_expiration == seconds


def test_api_url_loses_its_trailing_slash(env: pytest.MonkeyPatch) -> None:
    env.setenv("NEXT_PUBLIC_STACK_API_URL", "https://auth.example.com/")
    assert Settings.from_env().api_url == "https://auth.example.com"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STACK_SERVER_SECRET", "***"),
        ("STACK_SERVER_SECRET", "c2hvcnQ"),  # decodes to 5 bytes: too short
        ("STACK_DATABASE_CONNECTION_STRING", "mysql://root@localhost/db"),
        ("STACK_ACCESS_TOKEN_EXPIRATION_TIME", "soon"),
        ("STACK_ACCESS_TOKEN_EXPIRATION_TIME", "0s"),
        ("STACK_API_PORT", "eighty"),
        ("STACK_LOG_LEVEL", "chatty"),
        ("STACK_MAX_REQUEST_BODY_BYTES", "10"),
    ],
)
def test_bad_value_error_names_the_variable(
    env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    env.setenv(variable, value)
    message = settings_error()
    assert f"  - {variable}: " in message
    assert message.startswith("invalid configuration:")


@pytest.mark.parametrize("variable", ["STACK_DATABASE_CONNECTION_STRING", "STACK_SERVER_SECRET"])
def test_missing_required_variable_is_named(env: pytest.MonkeyPatch, variable: str) -> None:
    env.delenv(variable)
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env()


def test_every_bad_variable_is_reported_at_once(env: pytest.MonkeyPatch) -> None:
    env.delenv("STACK_SERVER_SECRET")
    env.setenv("STACK_API_PORT", "eighty")
    message = settings_error()
    assert "STACK_SERVER_SECRET" in message
    assert "STACK_API_PORT" in message


def test_error_message_does_not_echo_the_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("STACK_SERVER_SECRET", "c2hvcnQ")
    assert "c2hvcnQ" not in settings_error()


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("STACK_SKIP_MIGRATIONS", "true", "should_migrate", False),
        ("STACK_RUN_MIGRATIONS", "false", "should_migrate", False),
        ("STACK_SKIP_SEED_SCRIPT", "true", "should_seed", False),
        ("STACK_RUN_SEED_SCRIPT", "false", "should_seed", False),
    ],
)
def test_migration_and_seed_switches(
    env: pytest.MonkeyPatch, variable: str, value: str, attribute: str, expected: bool
) -> None:
    env.setenv(variable, value)
    assert getattr(Settings.from_env(), attribute) is expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10min", 600),
        ("60s", 60),
        ("1h", 3600),
        ("1 hour", 3600),
        ("2d", 172800),
        ("1.5h", 5400),
        ("90 SECONDS", 90),
        ("1w", 604800),
    ],
)
def test_timespan_parsing(text: str, seconds: int) -> None:
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text", ["", "garbage", "10", "min", "10 parsecs", "-5s", "0s", "1h30m"])
def test_timespan_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time span"):
        parse_timespan(text)


# --- sec-passwords: emailed code lifetimes ------------------------------------------------------


def test_sign_in_and_reset_codes_live_an_hour_by_default(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings.sign_in_code_lifetime == 3600
    assert settings.password_reset_code_lifetime == 3600


@pytest.mark.parametrize(("text", "seconds"), [("15min", 900), ("2h", 7200), ("300", 300)])
def test_code_lifetimes_take_a_timespan_or_seconds(
    env: pytest.MonkeyPatch, text: str, seconds: int
) -> None:
    env.setenv("STACK_SIGN_IN_CODE_LIFETIME", text)
    env.setenv("STACK_PASSWORD_RESET_CODE_LIFETIME", text)
    settings = Settings.from_env()
    assert settings.sign_in_code_lifetime == seconds
    assert settings.password_reset_code_lifetime == seconds


@pytest.mark.parametrize("text", ["0", "8d", "soon"])
def test_out_of_range_code_lifetime_is_refused_by_name(env: pytest.MonkeyPatch, text: str) -> None:
    env.setenv("STACK_PASSWORD_RESET_CODE_LIFETIME", text)
    with pytest.raises(SettingsError, match="STACK_PASSWORD_RESET_CODE_LIFETIME"):
        Settings.from_env()
