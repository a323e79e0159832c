"""How the Settings page sums up an external database's sync status, and says when it failed."""

from __future__ import annotations

from typing import Any

from authstack_dashboard.routes.external_databases import database_views
from authstack_dashboard.web import _format_ago

NOW_S = 1_750_000_000.0


def _mapping(last: int | None, lag: int = 0, pending: int = 0, error: str | None = None) -> Any:
    return {
        "mapping": "users",
        "last_synced_sequence_id": last,
        "lag": lag,
        "pending_changes": pending,
        "last_error": error,
        "last_error_at_millis": None,
        "updated_at_millis": None,
    }


def _state(*mappings: Any) -> tuple[str, str]:
    config = {"dbSync": {"externalDatabases": {"w": {"connectionString": "postgres://u:****@h/d"}}}}
    status = {"targets": [{"id": "w", "type": "postgres", "mappings": list(mappings)}]}
    [view] = database_views(config, status)
    return view.state


def test_the_summary_says_in_sync_behind_never_synced_or_error() -> None:
    assert _state(_mapping(4), _mapping(4)) == ("ok", "in sync")
    assert _state(_mapping(4, lag=2), _mapping(4, pending=1)) == ("", "3 changes to copy")
    assert _state(_mapping(None, lag=5), _mapping(None)) == ("", "not synced yet")
    assert _state(_mapping(4), _mapping(None, error="refused")) == ("warn", "error")


def test_config_entries_are_listed_by_id_with_or_without_status() -> None:
    config = {
        "dbSync": {
            "externalDatabases": {
                "b": {"type": "postgres", "connectionString": "postgres://x:****@b/db"},
                "a": {"type": "postgres", "connectionString": "postgres://y:****@a/db"},
                "broken": "not an entry",
            }
        }
    }
    status = {"targets": [{"id": None, "type": "clickhouse", "mappings": [_mapping(1)]}]}
    views = database_views(config, status)
    assert [(v.id, v.connection_string, v.mappings) for v in views] == [
        ("a", "postgres://y:****@a/db", []),
        ("b", "postgres://x:****@b/db", []),
    ]
    assert database_views({}, {}) == []


def test_times_read_as_people_say_them() -> None:
    ms = NOW_S * 1000
    assert _format_ago(ms - 5_000, NOW_S) == "just now"
    assert _format_ago(ms - 5 * 60_000, NOW_S) == "5 min ago"
    assert _format_ago(ms - 3 * 3_600_000, NOW_S) == "3 h ago"
    assert _format_ago(ms - 3 * 86_400_000, NOW_S) == "2025-06-12 15:06 UTC"
    assert _format_ago(None, NOW_S) == "—"
