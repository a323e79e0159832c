"""Each service's settings: the sections it needs, composed on the shared loader."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from authstack_core.secret_policy import Kind
from authstack_core.settings.clickhouse import ClickHouseSection
from authstack_core.settings.email_monitor import EmailMonitorSection
from authstack_core.settings.health import HealthSection
from authstack_core.settings.loader import ServiceSettings, env
from authstack_core.settings.metrics import MetricsSection
from authstack_core.settings.project_cache import ProjectCacheSection
from authstack_core.settings.prune import PruneSection
from authstack_core.settings.s3 import S3Section
from authstack_core.settings.sections import (
    ApiSection,
    DatabaseSection,
    EmailSection,
    LoggingSection,
    MigrationSection,
    OAuthSection,
    QueueSection,
    RateLimitSection,
    SeedSection,
    TokensSection,
    WebhooksSection,
)


class Settings(
    PruneSection,
    ProjectCacheSection,
    HealthSection,
    MetricsSection,
    S3Section,
    ClickHouseSection,
    OAuthSection,
    WebhooksSection,
    EmailMonitorSection,
    RateLimitSection,
    EmailSection,
    QueueSection,
    SeedSection,
    MigrationSection,
    LoggingSection,
    ApiSection,
    TokensSection,
    DatabaseSection,
    ServiceSettings,
):
    """Everything the API, worker, migrator and cron need to know about their environment.

    Build it once in a service's ``__main__`` (``Settings.from_env()``) and pass it down;
    tests build ``Settings(...)`` directly with keyword arguments named as the attributes.
    """

    production_secrets: ClassVar[dict[str, Kind]] = {
        "server_secret": "server_secret",
        "cron_secret": "generated",
        "email_monitor_secret_token": "generated",
        "metrics_token": "generated",
        "seed_publishable_client_key": "project_key",
        "seed_secret_server_key": "project_key",
        "seed_super_secret_admin_key": "project_key",
        "seed_user_password": "admin_password",
        "s3_secret_access_key": "generated",
    }
    production_required: ClassVar[frozenset[str]] = frozenset({"server_secret", "cron_secret"})
    development_switches: ClassVar[tuple[str, ...]] = ("allow_development_key_override",)

    @property
    def webhooks_private_allowed(self) -> bool:
        """Webhook endpoints may be internal addresses: either switch allows it."""
        return self.webhooks_allow_private_targets or self.outbound_allow_private_networks


class DashboardSettings(LoggingSection, ServiceSettings):
    """What the dashboard needs: where the API is, where it listens, and its cookie secret.

    The dashboard has no database connection and never sees the server secret: it signs its
    admin in through the API. Build it with ``DashboardSettings.from_env()`` in ``__main__``.
    """

    production_secrets: ClassVar[dict[str, Kind]] = {
        "session_secret": "generated",
        "publishable_client_key": "project_key",
    }
    production_required: ClassVar[frozenset[str]] = frozenset({"session_secret"})

    # The API base the dashboard calls (an internal address may differ from the public one).
    api_url: str = Field(
        default="http://localhost:8102",
        validation_alias=env("STACK_DASHBOARD_API_URL", "NEXT_PUBLIC_STACK_API_URL"),
    )
    # The API base apps use (shown in the snippets); defaults to api_url.
    public_api_url: str | None = Field(
        default=None, validation_alias=env("NEXT_PUBLIC_STACK_API_URL")
    )
    dashboard_url: str = Field(
        default="http://localhost:8101", validation_alias=env("NEXT_PUBLIC_STACK_DASHBOARD_URL")
    )
    host: str = Field(default="127.0.0.1", validation_alias=env("STACK_DASHBOARD_HOST"))
    port: int = Field(default=8101, validation_alias=env("STACK_DASHBOARD_PORT"))
    # Signs the session and CSRF cookies; rotating it signs everyone out.
    session_secret: str = Field(
        min_length=32, validation_alias=env("STACK_DASHBOARD_SESSION_SECRET"), repr=False
    )
    # The internal project's publishable key, sent on the dashboard's client requests.
    publishable_client_key: str | None = Field(
        default=None,
        validation_alias=env(
            "NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY",
            "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY",
        ),
        repr=False,
    )
    api_timeout_seconds: float = Field(
        default=15.0, gt=0, validation_alias=env("STACK_DASHBOARD_API_TIMEOUT_SECONDS")
    )
    # Where browsers load stored images (profile images, logos) from, as the API stores them:
    # STACK_S3_PUBLIC_ENDPOINT, else <STACK_S3_ENDPOINT>/<STACK_S3_BUCKET>. The dashboard's CSP
    # allows images from there and nowhere else; all unset: no stored images are shown.
    s3_public_endpoint: str = Field(default="", validation_alias=env("STACK_S3_PUBLIC_ENDPOINT"))
    s3_endpoint: str = Field(default="", validation_alias=env("STACK_S3_ENDPOINT"))
    s3_bucket: str = Field(default="", validation_alias=env("STACK_S3_BUCKET"))

    @property
    def image_base(self) -> str:
        """The public URL prefix of stored images ("" when storage is not configured)."""
        if self.s3_public_endpoint.strip():
            return self.s3_public_endpoint.strip().rstrip("/")
        if self.s3_endpoint.strip() and self.s3_bucket.strip():
            return f"{self.s3_endpoint.strip().rstrip('/')}/{self.s3_bucket.strip()}"
        return ""

    @property
    def secure_cookies(self) -> bool:
        """Mark cookies Secure when the dashboard is served over HTTPS."""
        return self.dashboard_url.startswith("https://")
