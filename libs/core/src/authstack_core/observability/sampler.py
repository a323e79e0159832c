"""Values read rather than counted where they happen: the pool's state, the event writer's and
the project cache's counters, copied into the series every few seconds and right before a scrape.
(A cache hit costs a dictionary look-up; a Prometheus increment on it would cost more.)"""

from __future__ import annotations

import threading

from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from authstack_core.analytics.events import EventWriter
from authstack_core.db.project_cache import ProjectCache
from authstack_core.observability import series

SAMPLE_EVERY_S = 5.0


class Sampler:
    """Copies one process's pool and event-writer figures into the series. Counters move by the
    growth since the last sample, so they stay counters; safe to call from several threads."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        writer: EventWriter | None = None,
        project_cache: ProjectCache | None = None,
    ) -> None:
        self.pool = pool
        self.writer = writer
        self.project_cache = project_cache
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def sample(self) -> None:
        with self._lock:
            stats = self.pool.get_stats()
            series.DB_POOL_IN_USE.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
            series.DB_POOL_WAITING.set(stats.get("requests_waiting", 0))
            series.DB_POOL_MAX.set(stats.get("pool_max", 0))
            self._advance(series.DB_POOL_ERRORS, "pool_errors", stats.get("requests_errors", 0))
            if self.writer is not None:
                s = self.writer.stats
                events = series.CLICKHOUSE_EVENTS
                self._advance(events.labels("written"), "written", s.written)
                self._advance(events.labels("dropped"), "dropped", s.dropped)
                self._advance(events.labels("rejected"), "rejected", s.rejected)
                self._advance(series.CLICKHOUSE_INSERT_FAILURES, "failed", s.failed_inserts)
            if self.project_cache is not None:
                self._sample_cache(self.project_cache)

    def _sample_cache(self, cache: ProjectCache) -> None:
        c = cache.stats
        lookups, dropped = series.PROJECT_CACHE_LOOKUPS, series.PROJECT_CACHE_INVALIDATIONS
        self._advance(lookups.labels("hit"), "cache_hit", c.hits)
        self._advance(lookups.labels("miss"), "cache_miss", c.misses)
        self._advance(lookups.labels("bypass"), "cache_bypass", c.bypassed)
        self._advance(dropped.labels("project"), "cache_invalidation", c.invalidations)
        self._advance(dropped.labels("flush"), "cache_flush", c.flushes)
        series.PROJECT_CACHE_ENTRIES.set(len(cache))
        series.PROJECT_CACHE_LISTENER_CONNECTED.set(1 if cache.listening else 0)

    def _advance(self, counter: Counter, key: str, total: int) -> None:
        grown = total - self._seen.get(key, 0)
        if grown > 0:
            counter.inc(grown)
        self._seen[key] = total
