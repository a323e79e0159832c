"""Where files live: an S3-compatible server (AWS S3, SeaweedFS, MinIO, R2, ...) or nowhere.

Unset ``STACK_S3_ENDPOINT`` means no storage: features that store files answer a clear
503-class error. ``make dev`` starts SeaweedFS and sets every variable here when none is set.
Two buckets: ``STACK_S3_BUCKET`` is readable anonymously (profile images, logos: their URLs go
into ``<img src>``); ``STACK_S3_PRIVATE_BUCKET`` is not (session replays, read through short-lived
presigned URLs).
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from authstack_core.settings.loader import Section, SettingsError, env

# The variables that must accompany STACK_S3_ENDPOINT, by field.
REQUIRED_WITH_ENDPOINT = {
    "s3_access_key_id": "STACK_S3_ACCESS_KEY_ID",
    "s3_secret_access_key": "STACK_S3_SECRET_ACCESS_KEY",
    "s3_bucket": "STACK_S3_BUCKET",
    "s3_private_bucket": "STACK_S3_PRIVATE_BUCKET",
}


class S3Section(Section):
    # The API's address of the S3 server, e.g. http://seaweedfs:8333 or https://s3.amazonaws.com.
    s3_endpoint: str = Field(default="", validation_alias=env("STACK_S3_ENDPOINT"))
    # Where browsers fetch public objects (a CDN or the public address of the bucket); public
    # URLs are `<this>/<key>`. Unset: `<STACK_S3_ENDPOINT>/<STACK_S3_BUCKET>/<key>`.
    s3_public_endpoint: str = Field(default="", validation_alias=env("STACK_S3_PUBLIC_ENDPOINT"))
    s3_region: str = Field(default="us-east-1", validation_alias=env("STACK_S3_REGION"))
    s3_access_key_id: str = Field(default="", validation_alias=env("STACK_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: str = Field(
        default="", validation_alias=env("STACK_S3_SECRET_ACCESS_KEY"), repr=False
    )
    s3_bucket: str = Field(default="", validation_alias=env("STACK_S3_BUCKET"))
    s3_private_bucket: str = Field(default="", validation_alias=env("STACK_S3_PRIVATE_BUCKET"))
    # Each S3 call waits at most this long to connect and this long for an answer (twice: one
    # retry), so a storage outage costs a request seconds, not minutes.
    s3_connect_timeout_seconds: float = Field(
        default=3.0, gt=0, validation_alias=env("STACK_S3_CONNECT_TIMEOUT_SECONDS")
    )
    s3_read_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=env("STACK_S3_READ_TIMEOUT_SECONDS")
    )
    # S3 calls in flight at once from one process (each holds a worker thread).
    s3_max_concurrency: int = Field(
        default=16, ge=1, validation_alias=env("STACK_S3_MAX_CONCURRENCY")
    )
    # Session replays: the stored (gzip) bytes a project may hold, and how long an admin's
    # presigned URL to one chunk stays valid.
    session_replay_project_budget_bytes: int = Field(
        default=1 << 30, ge=0, validation_alias=env("STACK_SESSION_REPLAY_PROJECT_BUDGET_BYTES")
    )
    session_replay_url_expiry_seconds: int = Field(
        default=300, ge=1, le=3600, validation_alias=env("STACK_SESSION_REPLAY_URL_EXPIRY_SECONDS")
    )

    @field_validator("s3_endpoint", "s3_public_endpoint", mode="after")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s):// URL")
        return value

    @model_validator(mode="after")
    def _complete_when_configured(self) -> Self:
        # SettingsError is not a ValueError, so pydantic lets it through unwrapped.
        if not self.s3_endpoint:
            return self
        missing = [
            name for field, name in REQUIRED_WITH_ENDPOINT.items() if not getattr(self, field)
        ]
        if missing:
            raise SettingsError(
                "invalid configuration: STACK_S3_ENDPOINT is set, so these must be too: "
                + ", ".join(missing)
            )
        return self

    @property
    def s3_configured(self) -> bool:
        """Whether files can be stored (STACK_S3_ENDPOINT is set)."""
        return bool(self.s3_endpoint)
