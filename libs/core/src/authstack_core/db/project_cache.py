"""This process's copies of ``project_for_request``'s rows, dropped when PostgreSQL says they
changed.

The rules that keep a copy from outliving the truth:

* **Only while listening.** Entries are served and stored only while the listener (``db.
  project_listener``) holds a LISTEN connection. It flushes everything when that connection is
  lost and again once a new one listens; in between every read goes to PostgreSQL.
* **Dropped on notice.** Triggers notify each change of a project, its tenancies or its key sets
  at commit (migration 0023); the listener hands the project id to ``invalidate``.
* **Never stored stale.** A read that began before an invalidation of its project (or a flush)
  does not store its result: it may have read the row as it was before that change.
* **Bounded in time and size.** An entry lives at most the TTL, and never past the moment its
  soonest-expiring key expires; past ``max_entries`` the least recently used goes. Rows of a
  missing project or branch are not kept, so made-up ids cannot fill the cache.

Everything runs on the event loop's thread: no locks.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from authstack_core.models.projects import ProjectRow
from authstack_core.settings import Settings

FLUSH_ALL = "*"  # the payload of a TRUNCATE: every project may have changed


@dataclass(slots=True)
class CacheStats:
    """Running totals, copied into the Prometheus series by the metrics sampler."""

    hits: int = 0
    misses: int = 0
    # Reads that went to PostgreSQL because the listener was not connected.
    bypassed: int = 0
    # Projects dropped on a notice or after this process's own write; and whole flushes.
    invalidations: int = 0
    flushes: int = 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before a read of PostgreSQL: where the invalidations stood, and when it began."""

    seq: int
    started: float


@dataclass(slots=True)
class _Entry:
    row: ProjectRow
    fresh_until: float


class ProjectCache:
    def __init__(
        self, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._branches: dict[str, set[str]] = {}  # project id -> its branches held
        self._listening = False
        # Invalidation sequence: each one takes the next number. A read stores only if neither
        # its project nor the whole cache was invalidated after its ticket's number.
        self._seq = 0
        self._dropped_at: dict[str, int] = {}
        self._flushed_at = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProjectCache | None:
        """The API's cache; None when ``STACK_PROJECT_CACHE_TTL_SECONDS`` is 0 (off)."""
        if settings.project_cache_ttl_seconds <= 0:
            return None
        return cls(settings.project_cache_ttl_seconds, settings.project_cache_max_entries)

    @property
    def listening(self) -> bool:
        return self._listening

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, project_id: str, branch_id: str) -> ProjectRow | None:
        """The cached row, or None: read PostgreSQL (``ticket`` first, ``put`` after)."""
        if not self._listening:
            self.stats.bypassed += 1
            return None
        key = (project_id, branch_id)
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        if entry.fresh_until <= self._clock():
            self._remove(key)
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.row

    def ticket(self) -> Ticket:
        return Ticket(self._seq, self._clock())

    def put(self, ticket: Ticket, branch_id: str, row: ProjectRow) -> bool:
        """Keep ``row`` (read after ``ticket`` was taken) unless something may have changed it
        since, the listener is down, or the branch has no tenancy. True when kept."""
        project_id = row.id
        if (
            not self._listening
            or row.tenancy_id is None
            or self._flushed_at > ticket.seq
            or self._dropped_at.get(project_id, 0) > ticket.seq
        ):
            return False
        lifetime = self.ttl
        if row.keys_valid_for_seconds is not None:
            lifetime = min(lifetime, row.keys_valid_for_seconds)
        key = (project_id, branch_id)
        self._entries[key] = _Entry(row, ticket.started + lifetime)
        self._entries.move_to_end(key)
        self._branches.setdefault(project_id, set()).add(branch_id)
        while len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))
        return True

    def invalidate(self, project_id: str) -> None:
        """Drop every branch of ``project_id`` (``FLUSH_ALL``: everything), and keep reads that
        began before now from storing what they read."""
        if project_id == FLUSH_ALL:
            self.flush()
            return
        self.stats.invalidations += 1
        self._seq += 1
        self._dropped_at[project_id] = self._seq
        for branch_id in self._branches.pop(project_id, ()):
            del self._entries[(project_id, branch_id)]
        if len(self._dropped_at) > self.max_entries:
            # Bounded memory: forget per-project numbers and refuse every read begun before now
            # instead (entries already dropped stay dropped).
            self._flushed_at = self._seq
            self._dropped_at.clear()

    def flush(self) -> None:
        self.stats.flushes += 1
        self._seq += 1
        self._flushed_at = self._seq
        self._dropped_at.clear()
        self._entries.clear()
        self._branches.clear()

    def listener_connected(self) -> None:
        """The listener LISTENs again: what was kept before may have missed notices."""
        self.flush()
        self._listening = True

    def listener_lost(self) -> None:
        """No notice can arrive any more: serve nothing until the listener is back."""
        self._listening = False
        self.flush()

    def _remove(self, key: tuple[str, str]) -> None:
        del self._entries[key]
        project_id, branch_id = key
        branches = self._branches.get(project_id)
        if branches is not None:
            branches.discard(branch_id)
            if not branches:
                del self._branches[project_id]
