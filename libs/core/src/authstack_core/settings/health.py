"""Outage behaviour and readiness: how long a request waits for the database, what ``/health/ready``
checks and which of its checks take the API out of rotation."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from authstack_core.settings.loader import Section, env, listed

ReadyCheck = Literal["postgres", "redis", "clickhouse", "s3"]
READY_CHECKS: tuple[ReadyCheck, ...] = get_args(ReadyCheck)


class HealthSection(Section):
    # A request (or a job) waits this long for a database connection, then the API answers 503
    # with Retry-After: while PostgreSQL is unreachable, requests fail fast instead of hanging.
    db_pool_timeout_seconds: float = Field(
        default=3.0, gt=0, le=60, validation_alias=env("STACK_DATABASE_POOL_TIMEOUT_SECONDS")
    )
    # Each check of GET /health/ready gives up after this long (they run concurrently).
    health_check_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, validation_alias=env("STACK_HEALTH_CHECK_TIMEOUT_SECONDS")
    )
    # The checks whose failure makes /health/ready answer 503 (the others are only reported).
    health_ready_required: Annotated[tuple[ReadyCheck, ...], NoDecode] = Field(
        default=("postgres", "redis"), validation_alias=env("STACK_HEALTH_READY_REQUIRED")
    )

    @field_validator("health_ready_required", mode="before")
    @classmethod
    def _parse_checks(cls, value: object) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(item.lower() for item in listed(value, "postgres,redis")))
        unknown = [n for n in names if n not in READY_CHECKS]
        if unknown:
            raise ValueError(f"unknown check {unknown[0]!r} (known: {', '.join(READY_CHECKS)})")
        return names
