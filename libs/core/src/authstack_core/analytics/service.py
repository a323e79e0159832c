"""What the API holds for analytics: the store, the event writer, and trusted reads.

Built once per API process (``Analytics.from_settings``); the worker and other services get
``Analytics.disabled()``. Nothing here opens the store until it is first used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import structlog

from authstack_core.analytics.admin_query import AdminQueries
from authstack_core.analytics.events import Event, EventWriter, request_origin
from authstack_core.analytics.store import Store, StoreUnavailableError
from authstack_core.analytics.sync_tables import SyncTables
from authstack_core.settings.clickhouse import ClickHouseSection

log = structlog.get_logger(__name__)

# Trusted reads (dashboard metrics) share the store with the writer; a few at a time.
_READERS = anyio.CapacityLimiter(4)


class Analytics:
    def __init__(self, settings: ClickHouseSection) -> None:
        self.settings = settings
        self.store = Store(settings)
        self.writer = EventWriter(self.store)
        self.queries = AdminQueries(self.store)
        # The external DB sync's copies (filled by the poller, see domain.external_db_sync).
        self.sync_tables = SyncTables(self.store)

    @classmethod
    def disabled(cls) -> Analytics:
        return cls(ClickHouseSection(clickhouse_url="disabled"))

    @property
    def enabled(self) -> bool:
        return self.store.kind != "disabled"

    def open(self) -> None:
        """Open the store now (the API at start-up: the engine loads before requests come) and
        say when it is unusable or unmigrated. Never raises: analytics must not stop sign-ins."""
        if not self.enabled:
            log.info("analytics disabled (STACK_CLICKHOUSE_URL=disabled): events are dropped")
            return
        try:
            with self.store.session() as client:
                client.query("SELECT count() FROM analytics_internal.schema_migrations")
        except StoreUnavailableError as exc:
            log.error("analytics store unavailable; events are buffered", reason=str(exc))  # noqa: TRY400 - no traceback wanted
        except Exception as exc:
            log.error(  # noqa: TRY400 - no traceback wanted
                "analytics store not migrated (run the migrator); events are buffered",
                reason=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
            )

    def record(self, event: Event) -> None:
        self.writer.record(event)

    def token_refresh(
        self,
        *,
        project_id: str,
        branch_id: str,
        user_id: str,
        refresh_token_id: str,
        is_anonymous: bool,
    ) -> None:
        """``$token-refresh`` (contract §8), with where the request came from."""
        origin = request_origin.get()
        self.writer.record(
            Event(
                "$token-refresh",
                project_id,
                branch_id,
                {
                    "refresh_token_id": refresh_token_id,
                    "is_anonymous": is_anonymous,
                    "ip_info": origin.ip_info() if origin is not None else None,
                },
                user_id=user_id,
                refresh_token_id=refresh_token_id,
            )
        )

    async def rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Run a trusted query of ours (never an admin's SQL) with bound parameters, as the
        admin user. Raise StoreUnavailableError or the engine's error."""

        def run() -> Sequence[Sequence[Any]]:
            with self.store.session() as client:
                return client.query(sql, parameters=dict(params)).result_rows

        return await anyio.to_thread.run_sync(run, limiter=_READERS)

    def close(self) -> None:
        self.writer.close()
        self.store.close()
