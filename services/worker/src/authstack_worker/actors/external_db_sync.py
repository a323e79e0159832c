"""The sync_tenancy actor: copy a tenancy's numbered changes to its external databases."""

from __future__ import annotations

import dramatiq

from authstack_core.domain.context import Deps
from authstack_core.domain.external_db_sync_engine import SyncIncompleteError, sync_tenancy
from authstack_core.jobs import SYNC_TENANCY
from authstack_core.observability import series
from authstack_worker.broker import declare_actor

# A target that is down is tried again with dramatiq's exponential backoff, up to ~10 minutes
# apart, for about an hour in all; after that the next change in the tenancy queues it again.
MAX_RETRIES = 10
MAX_BACKOFF_MS = 10 * 60_000


def register(broker: dramatiq.Broker, deps: Deps, *, time_limit_ms: int) -> None:
    """Declare the sync actor on ``broker``. A repeated or concurrent message is harmless: each
    batch locks its mapping's progress row on the target and starts where the last one ended."""

    async def sync_tenancy_actor(tenancy_id: str) -> None:
        try:
            await sync_tenancy(
                deps, tenancy_id, batch_size=deps.settings.external_db_sync_batch_size
            )
        except SyncIncompleteError:
            series.external_db_sync_run("incomplete")
            raise
        except Exception:
            series.external_db_sync_run("error")
            raise
        series.external_db_sync_run("ok")

    declare_actor(
        broker,
        SYNC_TENANCY,
        sync_tenancy_actor,
        time_limit_ms=time_limit_ms,
        max_retries=MAX_RETRIES,
        max_backoff_ms=MAX_BACKOFF_MS,
    )
