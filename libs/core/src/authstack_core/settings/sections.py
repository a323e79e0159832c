"""The sections services compose their settings from, one per area, read from Stack Auth's names.

Each section is a pydantic-settings class of its own; ``Settings`` and ``DashboardSettings``
inherit the sections they need, so every field keeps its flat name (``settings.email_host``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from authstack_core.models.oauth import BUILTIN_PROVIDER_TYPES
from authstack_core.ratelimit_rules import parse_overrides
from authstack_core.settings.loader import Section, env
from authstack_core.timespan import parse_timespan

# Migrator defaults, shared with authstack_migrator.runner: wait at most 5 s for a lock (then fail
# rather than queue every reader and writer behind the migration), run no statement longer than a
# minute. A duration PostgreSQL understands: a number with an optional unit.
MIGRATION_LOCK_TIMEOUT = "5s"
MIGRATION_STATEMENT_TIMEOUT = "1min"
POSTGRES_DURATION = r"^\d+(us|ms|s|min|h|d)?$"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# What the deprecated STACK_TRUSTED_PROXY=true trusts: loopback, private and link-local networks.
DEPRECATED_TRUSTED_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)


class DatabaseSection(Section):
    database_url: str = Field(validation_alias=env("STACK_DATABASE_CONNECTION_STRING"))
    db_pool_min: int = Field(default=2, ge=1, validation_alias=env("STACK_DB_POOL_MIN_SIZE"))
    db_pool_max: int = Field(default=10, ge=1, validation_alias=env("STACK_DB_POOL_MAX_SIZE"))

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must be a postgres:// or postgresql:// connection string")
        return value


class TokensSection(Section):
    """The server's signing secret, the cron secret, and how long tokens and codes live."""

    server_secret: str = Field(validation_alias=env("STACK_SERVER_SECRET"), repr=False)
    cron_secret: str | None = Field(default=None, validation_alias=env("CRON_SECRET"), repr=False)
    access_token_expiration: Annotated[int, NoDecode] = Field(
        default=600, validation_alias=env("STACK_ACCESS_TOKEN_EXPIRATION_TIME")
    )
    # sec-passwords: Stack Auth keeps every emailed code 7 days; a code that signs in or sets a
    # password is worth less to an attacker the sooner it dies. E-mail verification codes keep 7.
    sign_in_code_lifetime: Annotated[int, NoDecode] = Field(
        default=3600, ge=1, le=7 * 86400, validation_alias=env("STACK_SIGN_IN_CODE_LIFETIME")
    )
    password_reset_code_lifetime: Annotated[int, NoDecode] = Field(
        default=3600,
        ge=1,
        le=7 * 86400,
        validation_alias=env("STACK_PASSWORD_RESET_CODE_LIFETIME"),
    )

    @field_validator("server_secret")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be base64url (generate one: openssl rand -base64 32)") from exc
        if len(raw) < 16:
            raise ValueError("must decode to at least 16 bytes")
        return value

    @field_validator("access_token_expiration", mode="before")
    @classmethod
    def _parse_expiration(cls, value: object) -> int:
        if isinstance(value, int):
            return value
        return parse_timespan(str(value))

    @field_validator("sign_in_code_lifetime", "password_reset_code_lifetime", mode="before")
    @classmethod
    def _parse_code_lifetime(cls, value: object) -> int:
        # A time span ("15min", "1h") or a bare number of seconds.
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return int(value)
        return parse_timespan(str(value))


class ApiSection(Section):
    """Where the API and dashboard are reached, and how the API process listens and works."""

    api_url: str = Field(
        default="http://localhost:8102", validation_alias=env("NEXT_PUBLIC_STACK_API_URL")
    )
    dashboard_url: str = Field(
        default="http://localhost:8101", validation_alias=env("NEXT_PUBLIC_STACK_DASHBOARD_URL")
    )
    api_host: str = Field(default="127.0.0.1", validation_alias=env("STACK_API_HOST"))
    api_port: int = Field(default=8102, validation_alias=env("STACK_API_PORT"))
    password_hash_concurrency: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        validation_alias=env("STACK_PASSWORD_HASH_CONCURRENCY"),
    )
    max_body_bytes: int = Field(
        # 2 MiB: room for a 1 MB image as a base64 data URL (about 1.4 MB) in a JSON body.
        default=2_097_152,
        ge=1024,
        validation_alias=env("STACK_MAX_REQUEST_BODY_BYTES"),
    )
    allow_development_key_override: bool = Field(
        default=False, validation_alias=env("STACK_ALLOW_DEVELOPMENT_KEY_OVERRIDE")
    )


class LoggingSection(Section):
    log_format: Literal["json", "console"] = Field(
        default="json", validation_alias=env("STACK_LOG_FORMAT")
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", validation_alias=env("STACK_LOG_LEVEL")
    )


class MigrationSection(Section):
    run_migrations: bool = Field(default=True, validation_alias=env("STACK_RUN_MIGRATIONS"))
    skip_migrations: bool = Field(default=False, validation_alias=env("STACK_SKIP_MIGRATIONS"))
    run_seed_script: bool = Field(default=True, validation_alias=env("STACK_RUN_SEED_SCRIPT"))
    skip_seed_script: bool = Field(default=False, validation_alias=env("STACK_SKIP_SEED_SCRIPT"))
    # Migrator time limits (PostgreSQL durations: 500ms, 5s, 2min, 1h; 0 = none). A migration file
    # may declare its own with a `-- migrate: statement_timeout=...` header.
    migration_lock_timeout: str = Field(
        default=MIGRATION_LOCK_TIMEOUT,
        pattern=POSTGRES_DURATION,
        validation_alias=env("STACK_MIGRATION_LOCK_TIMEOUT"),
    )
    migration_statement_timeout: str = Field(
        default=MIGRATION_STATEMENT_TIMEOUT,
        pattern=POSTGRES_DURATION,
        validation_alias=env("STACK_MIGRATION_STATEMENT_TIMEOUT"),
    )

    @property
    def should_migrate(self) -> bool:
        return self.run_migrations and not self.skip_migrations

    @property
    def should_seed(self) -> bool:
        return self.run_seed_script and not self.skip_seed_script


class SeedSection(Section):
    """What the seed script gives the internal project (STACK_SEED_INTERNAL_PROJECT_*)."""

    seed_sign_up_enabled: bool = Field(
        default=False, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED")
    )
    seed_otp_enabled: bool = Field(
        default=False, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_OTP_ENABLED")
    )
    seed_allow_localhost: bool = Field(
        default=False, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_ALLOW_LOCALHOST")
    )
    seed_oauth_providers: str = Field(
        default="", validation_alias=env("STACK_SEED_INTERNAL_PROJECT_OAUTH_PROVIDERS")
    )
    seed_user_email: str | None = Field(
        default=None, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_USER_EMAIL")
    )
    seed_user_password: str | None = Field(
        default=None, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD"), repr=False
    )
    seed_user_internal_access: bool = Field(
        default=False, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS")
    )
    seed_user_github_id: str | None = Field(
        default=None, validation_alias=env("STACK_SEED_INTERNAL_PROJECT_USER_GITHUB_ID")
    )
    seed_publishable_client_key: str | None = Field(
        default=None,
        validation_alias=env("STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY"),
        repr=False,
    )
    seed_secret_server_key: str | None = Field(
        default=None,
        validation_alias=env("STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY"),
        repr=False,
    )
    seed_super_secret_admin_key: str | None = Field(
        default=None,
        validation_alias=env("STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY"),
        repr=False,
    )
    seed_enable_dummy_project: bool = Field(
        default=False, validation_alias=env("STACK_SEED_ENABLE_DUMMY_PROJECT")
    )


class QueueSection(Section):
    """Redis, which carries wake-ups (Postgres holds the truth), and the worker's threads."""

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", validation_alias=env("STACK_REDIS_URL"), repr=False
    )
    queue_namespace: str = Field(
        default="authstack",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        validation_alias=env("STACK_QUEUE_NAMESPACE"),
    )
    worker_threads: int = Field(
        default=8, ge=1, le=256, validation_alias=env("STACK_WORKER_THREADS")
    )
    # Rows per target transaction of the external DB sync (ours; one batch is applied whole).
    external_db_sync_batch_size: int = Field(
        default=1000, ge=1, le=10_000, validation_alias=env("STACK_EXTERNAL_DB_SYNC_BATCH_SIZE")
    )


class EmailSection(Section):
    """The shared SMTP server (a project may name its own in emails.server) and its retries."""

    email_host: str | None = Field(default=None, validation_alias=env("STACK_EMAIL_HOST"))
    email_port: int = Field(default=587, ge=1, le=65535, validation_alias=env("STACK_EMAIL_PORT"))
    email_username: str | None = Field(default=None, validation_alias=env("STACK_EMAIL_USERNAME"))
    email_password: str | None = Field(
        default=None, validation_alias=env("STACK_EMAIL_PASSWORD"), repr=False
    )
    email_sender: str = Field(
        default="noreply@localhost", validation_alias=env("STACK_EMAIL_SENDER")
    )
    # true: implicit TLS from the first byte (port 465); false: STARTTLS when the server offers it.
    email_secure: bool = Field(default=False, validation_alias=env("STACK_EMAIL_SECURE"))
    email_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=env("STACK_EMAIL_TIMEOUT_SECONDS")
    )
    email_max_attempts: int = Field(
        default=5, ge=1, le=50, validation_alias=env("STACK_EMAIL_MAX_ATTEMPTS")
    )
    email_retry_base_seconds: float = Field(
        default=20.0, gt=0, validation_alias=env("STACK_EMAIL_RETRY_BASE_SECONDS")
    )
    email_send_lease_seconds: float = Field(
        default=120.0, gt=0, validation_alias=env("STACK_EMAIL_SEND_LEASE_SECONDS")
    )
    email_requeue_after_seconds: float = Field(
        default=60.0, ge=0, validation_alias=env("STACK_EMAIL_REQUEUE_AFTER_SECONDS")
    )
    # Mails a project may send per hour before the rest wait (high-priority mail never waits).
    # It grows with the project's last month of sent mail and quadruples during a capacity boost.
    email_default_capacity_per_hour: int = Field(
        default=200,
        ge=1,
        le=10_000_000,
        validation_alias=env("STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR"),
    )
    # sec-email: false means a project's own SMTP server (later: webhook endpoints, OIDC issuers)
    # must resolve to public addresses only; loopback, private, link-local (cloud metadata), CGNAT
    # and reserved ranges are refused. true: allow them (local development, a private relay).
    outbound_allow_private_networks: bool = Field(
        default=False, validation_alias=env("STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS")
    )


class WebhooksSection(Section):
    """Webhook delivery: through Svix when STACK_SVIX_API_KEY is set, else built in (the worker
    signs and POSTs to the endpoints each project keeps)."""

    svix_api_key: str | None = Field(
        default=None, validation_alias=env("STACK_SVIX_API_KEY"), repr=False
    )
    # A self-hosted Svix server; unset: Svix's cloud (the region the key names).
    svix_server_url: str | None = Field(default=None, validation_alias=env("STACK_SVIX_SERVER_URL"))
    # Built-in mode: endpoints may be on loopback, private or link-local addresses. Either this or
    # STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS allows them (Settings.webhooks_private_allowed).
    webhooks_allow_private_targets: bool = Field(
        default=False, validation_alias=env("STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS")
    )
    # Waits before each retry; one attempt more than entries. Svix's schedule by default.
    webhooks_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000),
        validation_alias=env("STACK_WEBHOOKS_RETRY_SCHEDULE"),
    )
    webhooks_requeue_after_seconds: float = Field(
        default=60.0, ge=0, validation_alias=env("STACK_WEBHOOKS_REQUEUE_AFTER_SECONDS")
    )

    @field_validator("svix_api_key", "svix_server_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhooks_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> tuple[float, ...]:
        # "5s,5min,30min" or seconds ("0.5,1"); an empty value: no retries.
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("expected comma-separated time spans, e.g. 5s,5min,30min")  # noqa: TRY004  # pydantic reports ValueErrors
        out = []
        for item in items:
            text = str(item).strip()
            try:
                seconds = float(text)
            except ValueError:
                seconds = parse_timespan(text)
            if not 0 <= seconds <= 6 * 86400:
                raise ValueError(f"each wait must be between 0 and 6 days: {text!r}")
            out.append(seconds)
        if len(out) > 20:
            raise ValueError("at most 20 retries")
        return tuple(out)


class SharedOAuthKeys(NamedTuple):
    """The operator's OAuth app of one provider type; ``MOCK`` for both: the mock provider."""

    client_id: str
    client_secret: str


MOCK_OAUTH_KEY = "MOCK"


class OAuthSection(Section):
    """Shared OAuth keys (``STACK_<TYPE>_CLIENT_ID`` / ``_CLIENT_SECRET`` for each built-in type)
    and Stack Auth's development convention: both set to ``MOCK`` make that provider an OpenID
    Connect client of the provider at ``STACK_OAUTH_MOCK_URL``."""

    oauth_mock_url: str | None = Field(default=None, validation_alias=env("STACK_OAUTH_MOCK_URL"))
    # Built-in provider type -> its shared keys; read from the variables above (one pair per type,
    # so a table rather than 24 fields). A type without both variables has no shared keys.
    oauth_shared_keys: dict[str, SharedOAuthKeys] = Field(default_factory=dict, repr=False)
    # Development: hand out connected-account access tokens of providers on shared keys too.
    oauth_allow_shared_access_tokens: bool = Field(
        default=False, validation_alias=env("STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS")
    )
    # Apple's public keys for native Sign in with Apple; tests point it at a key set of their own.
    apple_jwks_url: str = Field(
        default="https://appleid.apple.com/auth/keys", validation_alias=env("STACK_APPLE_JWKS_URL")
    )

    @model_validator(mode="before")
    @classmethod
    def _read_shared_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "oauth_shared_keys" in data:
            return data
        keys: dict[str, SharedOAuthKeys] = {}
        for provider_type in BUILTIN_PROVIDER_TYPES:
            names = [f"STACK_{provider_type.upper()}_CLIENT_{part}" for part in ("ID", "SECRET")]
            client_id, secret = (data.get(n, os.environ.get(n)) for n in names)
            if client_id and secret:
                keys[provider_type] = SharedOAuthKeys(str(client_id), str(secret))
        return {**data, "oauth_shared_keys": keys}

    @model_validator(mode="after")
    def _check_mock(self) -> OAuthSection:
        for provider_type, keys in self.oauth_shared_keys.items():
            if (keys.client_id == MOCK_OAUTH_KEY) != (keys.client_secret == MOCK_OAUTH_KEY):
                raise ValueError(
                    f"STACK_{provider_type.upper()}_CLIENT_ID and _CLIENT_SECRET must both be "
                    "MOCK, or neither"
                )
            if keys.client_id == MOCK_OAUTH_KEY and not self.oauth_mock_url:
                raise ValueError(
                    f"STACK_{provider_type.upper()}_CLIENT_ID=MOCK needs STACK_OAUTH_MOCK_URL"
                )
        return self


class RateLimitSection(Section):
    """Rate limits and which proxies' client addresses are believed (authstack_core.ratelimit)."""

    rate_limit_enabled: bool = Field(default=True, validation_alias=env("STACK_RATE_LIMIT_ENABLED"))
    # Overrides of single rules, JSON or "rule=limit; ..." (authstack_core.ratelimit).
    rate_limits: str = Field(default="", validation_alias=env("STACK_RATE_LIMITS"))
    rate_limit_redis_timeout_ms: int = Field(
        default=100, ge=5, le=10_000, validation_alias=env("STACK_RATE_LIMIT_REDIS_TIMEOUT_MS")
    )
    # Deprecated: true trusts loopback and private networks (DEPRECATED_TRUSTED_NETWORKS); name
    # the proxies' networks in STACK_TRUSTED_PROXY_NETWORKS instead.
    trusted_proxy: bool = Field(default=False, validation_alias=env("STACK_TRUSTED_PROXY"))
    # Networks (CIDR, comma-separated) of the proxies whose X-Forwarded-For is believed.
    trusted_proxy_networks: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias=env("STACK_TRUSTED_PROXY_NETWORKS")
    )

    @field_validator("rate_limits")
    @classmethod
    def _check_rate_limits(cls, value: str) -> str:
        parse_overrides(value)
        return value

    @field_validator("trusted_proxy_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> tuple[str, ...]:
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("expected comma-separated CIDR networks, e.g. 10.0.0.0/8,::1/128")  # noqa: TRY004  # pydantic reports ValueErrors
        try:
            return tuple(str(ipaddress.ip_network(str(i).strip(), strict=False)) for i in items)
        except ValueError as exc:
            raise ValueError(f"{exc} (expected CIDR networks, e.g. 10.0.0.0/8)") from None

    @property
    def proxy_networks(self) -> tuple[IPNetwork, ...]:
        """The trusted proxy networks, with the deprecated STACK_TRUSTED_PROXY=true mapping."""
        names = self.trusted_proxy_networks
        if self.trusted_proxy:
            names = (*names, *DEPRECATED_TRUSTED_NETWORKS)
        return tuple(dict.fromkeys(ipaddress.ip_network(n) for n in names))
