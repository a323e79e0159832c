"""Who may read the Prometheus metrics, and where the worker serves its own.

``GET /metrics`` on the API answers:

- with ``STACK_METRICS_TOKEN`` set: to ``Authorization: Bearer <token>`` only (401 otherwise);
- unset, outside production: to loopback clients only (a laptop's Prometheus, ``curl``);
- unset, in production: to nobody (404). The API is public behind its ingress and a proxy on the
  same host would make every request look local, so production needs the token to scrape.

The worker has no HTTP port of its own unless ``STACK_WORKER_METRICS_PORT`` names one; it then
serves ``/metrics`` there, on ``STACK_WORKER_METRICS_HOST`` (loopback by default; k8s sets
0.0.0.0), under the same token rule.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from authstack_core.settings.loader import Section, env


class MetricsSection(Section):
    metrics_token: str | None = Field(
        default=None, validation_alias=env("STACK_METRICS_TOKEN"), repr=False
    )
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=env("STACK_WORKER_METRICS_PORT")
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", validation_alias=env("STACK_WORKER_METRICS_HOST")
    )

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        # An empty key of the k8s Secret or an empty compose variable means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("worker_metrics_port", mode="before")
    @classmethod
    def _no_port(cls, value: object) -> object:
        # Empty or 0: the worker serves no metrics.
        return None if value in ("", "0", 0) else value
