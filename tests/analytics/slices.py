"""Test slices: a project's rows of the public views as Native bytes, from an in-memory chdb."""

from __future__ import annotations

from typing import Any

from authstack_core.analytics.sandbox import Slice

EVENTS_STRUCTURE = (
    "event_type LowCardinality(String), event_at DateTime64(3, 'UTC'), data JSON, "
    "project_id String, branch_id String, user_id Nullable(String), team_id Nullable(String), "
    "refresh_token_id Nullable(String), session_replay_id Nullable(String), "
    "session_replay_segment_id Nullable(String), created_at DateTime64(3, 'UTC')"
)

_EVENTS = """
SELECT
    CAST(if(number % 2 = 0, '$token-refresh', '$page-view') AS LowCardinality(String))
        AS event_type,
    CAST(toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number)
        AS DateTime64(3, 'UTC')) AS event_at,
    CAST(concat('{"n":', toString(number), ',"marker":"', {marker:String}, '"}') AS JSON) AS data,
    {project:String} AS project_id,
    'main' AS branch_id,
    CAST(concat('user-', toString(number % 10)) AS Nullable(String)) AS user_id,
    CAST(NULL AS Nullable(String)) AS team_id,
    CAST(concat('rt-', toString(number)) AS Nullable(String)) AS refresh_token_id,
    CAST(NULL AS Nullable(String)) AS session_replay_id,
    CAST(NULL AS Nullable(String)) AS session_replay_segment_id,
    toDateTime64('2025-01-01 00:00:00', 3, 'UTC') AS created_at
FROM numbers({rows:UInt64})
"""


def _native(sql: str, params: dict[str, Any]) -> bytes:
    from chdb import state  # noqa: PLC0415  (memory only: no store folder is opened)

    conn = state.connect(":memory:")
    try:
        return bytes(conn.query(sql, "Native", params=params).bytes())
    finally:
        conn.close()


def events_native(project: str, rows: int, *, marker: str = "") -> bytes:
    """``rows`` events of ``project`` with exactly the events view's columns and types."""
    return _native(_EVENTS, {"project": project, "rows": rows, "marker": marker})


def users_native(project: str, count: int) -> bytes:
    """``count`` users of ``project``: id ``user-<i>`` and a display name."""
    return _native(
        "SELECT concat('user-', toString(number)) AS id, {project:String} AS project_id, "
        "concat('Name ', toString(number)) AS display_name FROM numbers({count:UInt64})",
        {"project": project, "count": count},
    )


def events_slice(project: str, rows: int, *, marker: str = "") -> Slice:
    return Slice("events", events_native(project, rows, marker=marker))
