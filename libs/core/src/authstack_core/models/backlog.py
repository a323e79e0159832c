"""What waits in PostgreSQL across the deployment: the operator's queue depths and sync lag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backlog:
    email: int  # outbox rows not finished (due, scheduled for a retry, or being sent)
    webhook_deliveries: int  # deliveries not finished (pending or being sent)
    webhook_events: int  # events not dispatched to their deliveries yet
    external_db_sync: int  # tenancies waiting for an external DB sync to be handed to the worker
    sync_lag_seconds: float  # age of the oldest of those requests (0: none)
    sync_failing_targets: int  # (tenancy, target) pairs whose last sync failed
