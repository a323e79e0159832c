"""The rules of ``ProjectCache`` itself, on a clock the tests move: when an entry may be served,
when a read may store what it read, and how much is kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from authstack_core.db.project_cache import FLUSH_ALL, ProjectCache
from authstack_core.models.projects import ProjectRow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def row(
    project_id: str = "p1", *, tenancy: bool = True, keys_for: float | None = None
) -> ProjectRow:
    return ProjectRow(
        id=project_id,
        display_name="P",
        description="",
        is_production_mode=False,
        owner_team_id=None,
        config_override={},
        created_at=datetime.now(UTC),
        branch_config_override={},
        environment_config_override={},
        tenancy_id=uuid.uuid4() if tenancy else None,
        publishable_client_key_hashes=[],
        secret_server_key_hashes=[b"k"],
        super_secret_admin_key_hashes=[],
        keys_valid_for_seconds=keys_for,
    )


def listening_cache(ttl: float = 30, max_entries: int = 100) -> tuple[ProjectCache, Clock]:
    clock = Clock()
    cache = ProjectCache(ttl, max_entries, clock)
    cache.listener_connected()
    return cache, clock


def stored(cache: ProjectCache, value: ProjectRow, branch: str = "main") -> None:
    assert cache.put(cache.ticket(), branch, value)


def test_a_stored_row_is_served_until_its_ttl() -> None:
    cache, clock = listening_cache(ttl=30)
    value = row()
    assert cache.get("p1", "main") is None
    stored(cache, value)
    assert cache.get("p1", "main") is value
    clock.now += 29.9
    assert cache.get("p1", "main") is value
    clock.now += 0.1
    assert cache.get("p1", "main") is None
    assert (cache.stats.hits, cache.stats.misses) == (2, 2)


def test_an_entry_ends_when_its_first_key_expires_before_the_ttl() -> None:
    cache, clock = listening_cache(ttl=30)
    stored(cache, row(keys_for=2.5))
    clock.now += 2.4
    assert cache.get("p1", "main") is not None
    clock.now += 0.1
    assert cache.get("p1", "main") is None


def test_the_lifetime_counts_from_when_the_read_began() -> None:
    cache, clock = listening_cache(ttl=30)
    ticket = cache.ticket()
    clock.now += 1  # the query took a second
    assert cache.put(ticket, "main", row(keys_for=2))
    clock.now += 1
    assert cache.get("p1", "main") is None


def test_nothing_is_served_or_kept_while_the_listener_is_down() -> None:
    clock = Clock()
    cache = ProjectCache(30, 100, clock)
    assert not cache.put(cache.ticket(), "main", row())  # not listening yet
    assert cache.get("p1", "main") is None
    cache.listener_connected()
    stored(cache, row())
    cache.listener_lost()
    assert cache.get("p1", "main") is None
    assert not cache.put(cache.ticket(), "main", row())
    assert cache.stats.bypassed == 2
    cache.listener_connected()
    assert cache.get("p1", "main") is None  # flushed: the old entry did not come back


def test_a_read_begun_before_an_invalidation_does_not_store_its_row() -> None:
    cache, _ = listening_cache()
    ticket = cache.ticket()
    cache.invalidate("p1")
    assert not cache.put(ticket, "main", row("p1"))
    # Another project's read is not affected, and a read begun after the invalidation stores.
    assert cache.put(ticket, "main", row("p2"))
    stored(cache, row("p1"))


def test_a_read_begun_before_a_flush_or_a_reconnection_does_not_store_its_row() -> None:
    for interrupt in ("flush", "reconnect", "truncate"):
        cache, _ = listening_cache()
        ticket = cache.ticket()
        if interrupt == "flush":
            cache.flush()
        elif interrupt == "truncate":
            cache.invalidate(FLUSH_ALL)
        else:
            cache.listener_lost()
            cache.listener_connected()
        assert not cache.put(ticket, "main", row("p1")), interrupt


def test_an_invalidation_drops_every_branch_of_the_project_only() -> None:
    cache, _ = listening_cache()
    stored(cache, row("p1"), "main")
    stored(cache, row("p1"), "dev")
    stored(cache, row("p2"), "main")
    cache.invalidate("p1")
    assert cache.get("p1", "main") is None
    assert cache.get("p1", "dev") is None
    assert cache.get("p2", "main") is not None
    cache.invalidate(FLUSH_ALL)
    assert len(cache) == 0


def test_a_branch_without_tenancy_is_not_kept() -> None:
    cache, _ = listening_cache()
    assert not cache.put(cache.ticket(), "nope", row(tenancy=False))
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_past_the_bound() -> None:
    cache, _ = listening_cache(max_entries=3)
    for name in ("a", "b", "c"):
        stored(cache, row(name))
    assert cache.get("a", "main") is not None  # "b" is now the least recently used
    stored(cache, row("d"))
    assert len(cache) == 3
    assert cache.get("b", "main") is None
    assert all(cache.get(name, "main") is not None for name in ("a", "c", "d"))


def test_invalidation_bookkeeping_is_bounded_and_stays_safe() -> None:
    cache, _ = listening_cache(max_entries=10)
    ticket = cache.ticket()
    for i in range(50):
        cache.invalidate(f"gone-{i}")
    assert len(cache._dropped_at) <= 10
    # Forgetting which projects were dropped refuses every read begun before, not none.
    assert not cache.put(ticket, "main", row("gone-0"))
    assert not cache.put(ticket, "main", row("other"))
    stored(cache, row("gone-0"))
