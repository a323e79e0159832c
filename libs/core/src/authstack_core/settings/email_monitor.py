"""The email monitor's settings (GET /health/email), apart from the other sections."""

from __future__ import annotations

from pydantic import Field

from authstack_core.settings.loader import Section, env


class EmailMonitorSection(Section):
    """GET /health/email: a sign-up on a monitor project whose verification email is awaited in
    an Inbucket-compatible inbox. Off (the SMTP reachability check only) unless the token,
    project and inbox are all set."""

    email_monitor_secret_token: str | None = Field(
        default=None, validation_alias=env("STACK_EMAIL_MONITOR_SECRET_TOKEN"), repr=False
    )
    email_monitor_project_id: str | None = Field(
        default=None, validation_alias=env("STACK_EMAIL_MONITOR_PROJECT_ID")
    )
    # The monitor signs up monitor+<random>@<domain>; the inbox must receive that domain's mail.
    email_monitor_email_domain: str = Field(
        default="example.com", validation_alias=env("STACK_EMAIL_MONITOR_RESEND_EMAIL_DOMAIN")
    )
    email_monitor_verification_callback_url: str | None = Field(
        default=None, validation_alias=env("STACK_EMAIL_MONITOR_VERIFICATION_CALLBACK_URL")
    )
    email_monitor_inbox_url: str | None = Field(
        default=None, validation_alias=env("STACK_EMAIL_MONITOR_INBUCKET_API_URL")
    )
    email_monitor_timeout_seconds: float = Field(
        default=60, gt=0, le=300, validation_alias=env("STACK_EMAIL_MONITOR_TIMEOUT_SECONDS")
    )

    @property
    def email_monitor_enabled(self) -> bool:
        return bool(
            self.email_monitor_secret_token
            and self.email_monitor_project_id
            and self.email_monitor_inbox_url
        )
