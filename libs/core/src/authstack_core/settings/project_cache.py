"""The API's per-process copy of what request authentication reads of a project (see the README's
"Project cache"): how long an entry may be served at most, and how many are kept."""

from __future__ import annotations

from pydantic import Field

from authstack_core.settings.loader import Section, env


class ProjectCacheSection(Section):
    # The safety net behind LISTEN/NOTIFY: an entry is read again after this many seconds even if
    # no change was heard. 0 turns the cache off (every request reads PostgreSQL).
    project_cache_ttl_seconds: float = Field(
        default=30.0, ge=0, le=3600, validation_alias=env("STACK_PROJECT_CACHE_TTL_SECONDS")
    )
    # Entries (project and branch) per API process; the least recently used goes first.
    project_cache_max_entries: int = Field(
        default=10_000, ge=1, le=1_000_000, validation_alias=env("STACK_PROJECT_CACHE_MAX_ENTRIES")
    )
