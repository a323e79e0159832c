"""The admin query sandbox, attacked as an admin would: real chdb children, no mocks.

Every attack must end in QueryRefused (or rows of only the given slice), never another exception,
and the parent must keep serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authstack_core.analytics.query_errors import GENERIC_MESSAGE
from authstack_core.analytics.sandbox import Outcome, QueryRefused, Sandbox, Slice
from tests.analytics.slices import EVENTS_STRUCTURE, events_slice, users_native

PROJECT_A, PROJECT_B = "project-a", "project-b"


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox()
    yield box
    await box.aclose()


@pytest.fixture(scope="module")
def events_a() -> Slice:
    return events_slice(PROJECT_A, 100, marker="alpha")


async def run(box: Sandbox, query: str, slices: list[Slice], **params: object) -> Outcome:
    return await box.run(slices, query, params, timeout_ms=5000, query_id="test")


async def refused(box: Sandbox, query: str, slices: list[Slice], **params: object) -> str:
    with pytest.raises(QueryRefused) as caught:
        await run(box, query, slices, **params)
    return caught.value.message


# Happy paths


async def test_count_over_an_events_slice_reads_its_json_data(
    sandbox: Sandbox, events_a: Slice
) -> None:
    outcome = await run(
        sandbox,
        "SELECT count() AS c, sum(data.n::UInt64) AS total, uniqExact(project_id) AS projects, "
        "countIf(event_type = '$token-refresh') AS refreshes FROM default.events",
        [events_a],
    )
    assert outcome.rows == [{"c": 100, "total": 4950, "projects": 1, "refreshes": 50}]
    assert outcome.wall_clock_time_ms > 0
    assert outcome.cpu_time_ms >= 0


async def test_params_are_bound_as_query_parameters(sandbox: Sandbox, events_a: Slice) -> None:
    outcome = await run(
        sandbox,
        "SELECT count() AS c FROM events "
        "WHERE user_id = {user:String} AND data.n::UInt64 < {n:UInt32}",
        [events_a],
        user="user-3",
        n=50,
    )
    assert outcome.rows == [{"c": 5}]


async def test_two_slices_join(sandbox: Sandbox, events_a: Slice) -> None:
    users = Slice("users", users_native(PROJECT_A, 10))
    outcome = await run(
        sandbox,
        "SELECT u.display_name AS name, count() AS c FROM events AS e "
        "JOIN users AS u ON e.user_id = u.id GROUP BY name ORDER BY name LIMIT 2",
        [events_a, users],
    )
    assert outcome.rows == [{"name": "Name 0", "c": 10}, {"name": "Name 1", "c": 10}]


async def test_an_empty_slice_with_its_structure_is_an_empty_table(sandbox: Sandbox) -> None:
    empty = Slice("events", b"", structure=EVENTS_STRUCTURE)
    outcome = await run(sandbox, "SELECT count() AS c FROM events", [empty])
    assert outcome.rows == [{"c": 0}]


async def test_two_projects_in_two_jobs_never_see_each_other(sandbox: Sandbox) -> None:
    a = await run(sandbox, "SELECT DISTINCT project_id FROM events", [events_slice(PROJECT_A, 5)])
    b = await run(sandbox, "SELECT DISTINCT project_id FROM events", [events_slice(PROJECT_B, 7)])
    assert a.rows == [{"project_id": PROJECT_A}]
    assert b.rows == [{"project_id": PROJECT_B}]


# Other databases, settings, several statements


async def test_the_internal_database_is_not_there(sandbox: Sandbox, events_a: Slice) -> None:
    assert await refused(sandbox, "SELECT * FROM analytics_internal.events", [events_a]) == (
        GENERIC_MESSAGE
    )


async def test_only_the_slices_are_tables_outside_system(sandbox: Sandbox, events_a: Slice) -> None:
    outcome = await run(
        sandbox,
        "SELECT database, name FROM system.tables WHERE database NOT IN "
        "('system', 'INFORMATION_SCHEMA', 'information_schema')",
        [events_a],
    )
    assert outcome.rows == [{"database": "default", "name": "events"}]


async def test_union_with_another_database_is_refused(sandbox: Sandbox, events_a: Slice) -> None:
    query = (
        "SELECT project_id FROM events UNION ALL SELECT project_id FROM analytics_internal.events"
    )
    assert await refused(sandbox, query, [events_a]) == GENERIC_MESSAGE


async def test_set_readonly_is_refused(sandbox: Sandbox, events_a: Slice) -> None:
    assert "readonly" in await refused(sandbox, "SET readonly = 0", [events_a])


@pytest.mark.parametrize(
    "settings", ["readonly = 0", "max_result_rows = 0", "max_execution_time = 0", "SQL_x = 'p'"]
)
async def test_query_settings_cannot_lift_the_limits(
    sandbox: Sandbox, events_a: Slice, settings: str
) -> None:
    message = await refused(sandbox, f"SELECT count() FROM events SETTINGS {settings}", [events_a])
    assert "readonly" in message or message == GENERIC_MESSAGE


async def test_several_statements_are_refused(sandbox: Sandbox, events_a: Slice) -> None:
    assert "Multi-statements" in await refused(sandbox, "SELECT 1; SELECT 2", [events_a])


# Table functions


@pytest.mark.parametrize(
    "source",
    [
        "file('/etc/passwd')",
        "file('slice-0.native', Native)",
        "url('http://127.0.0.1:1/', CSV, 'a String')",
        "s3('http://127.0.0.1:1/bucket/x.csv', CSV, 'a String')",
        "remote('127.0.0.1', system.one)",
        "cluster('default', system.one)",
        "clusterAllReplicas('default', system.one)",
        "executable('id', TSV, 'a String')",
        "input('a String')",
        "postgresql('127.0.0.1:5432', 'postgres', 'x', 'postgres', '')",
    ],
)
async def test_table_functions_reaching_out_are_refused(
    sandbox: Sandbox, events_a: Slice, source: str
) -> None:
    await refused(sandbox, f"SELECT * FROM {source}", [events_a])


async def test_merge_over_every_database_returns_only_the_slice(
    sandbox: Sandbox, events_a: Slice
) -> None:
    outcome = await run(sandbox, "SELECT count() AS c FROM merge('default', '.*')", [events_a])
    assert outcome.rows == [{"c": 100}]


async def test_into_outfile_writes_nothing_outside_the_child(
    sandbox: Sandbox, events_a: Slice, tmp_path: Path
) -> None:
    target = tmp_path / "stolen.txt"
    with contextlib.suppress(QueryRefused):
        await run(sandbox, f"SELECT * FROM events INTO OUTFILE '{target}'", [events_a])
    assert not target.exists()


# system tables


async def test_system_tables_do_not_show_another_jobs_query(sandbox: Sandbox) -> None:
    marker = "marker-7f3a9c"
    await run(sandbox, f"SELECT '{marker}' AS m", [events_slice(PROJECT_A, 3, marker="a")])
    probe = [events_slice(PROJECT_B, 3)]
    processes = await run(sandbox, "SELECT query FROM system.processes", probe)
    assert marker not in str(processes.rows)
    assert await refused(sandbox, "SELECT query FROM system.query_log", probe) == GENERIC_MESSAGE


# Writes


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO events (project_id) VALUES ('x')",
        "CREATE TABLE t (a Int8) ENGINE = Memory",
        "DROP TABLE events",
        "ALTER TABLE events DELETE WHERE 1",
        "TRUNCATE TABLE events",
        "OPTIMIZE TABLE events",
        "SYSTEM SHUTDOWN",
        "CREATE USER u",
        "CREATE ROW POLICY p ON events USING 1 TO ALL",
    ],
)
async def test_writes_and_ddl_are_refused(
    sandbox: Sandbox, events_a: Slice, statement: str
) -> None:
    await refused(sandbox, statement, [events_a])


async def test_kill_reaches_only_the_jobs_own_query(sandbox: Sandbox, events_a: Slice) -> None:
    try:
        outcome = await run(sandbox, "KILL QUERY WHERE 1 SYNC", [events_a])
    except QueryRefused:
        return
    assert all("KILL" in str(row) or "system.processes" in str(row) for row in outcome.rows)


# Time and size


async def test_a_runaway_query_stops_at_its_timeout(sandbox: Sandbox, events_a: Slice) -> None:
    started = time.monotonic()
    with pytest.raises(QueryRefused) as caught:
        await sandbox.run(
            [events_a], "SELECT count() FROM numbers(1e13)", {}, timeout_ms=1000, query_id="t"
        )
    assert time.monotonic() - started < 10
    assert "Timeout" in caught.value.message


async def test_the_parent_kills_a_query_the_engine_does_not_stop(events_a: Slice) -> None:
    box = Sandbox(keep_spare=False, grace_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(QueryRefused) as caught:
            await box.run([events_a], "SELECT sleep(3)", {}, timeout_ms=200, query_id="t")
    finally:
        await box.aclose()
    assert time.monotonic() - started < 2.9
    assert "Timeout" in caught.value.message


async def test_a_huge_result_is_refused_by_rows(sandbox: Sandbox, events_a: Slice) -> None:
    message = await refused(sandbox, "SELECT * FROM numbers(1e6)", [events_a])
    assert "Limit for result exceeded" in message


async def test_a_200_mb_result_is_refused_by_bytes(sandbox: Sandbox, events_a: Slice) -> None:
    query = "SELECT repeat(toString(number % 10), 1000000) AS s FROM numbers(200)"
    assert "max bytes" in await refused(sandbox, query, [events_a])


async def test_a_200_mb_constant_result_is_cut_by_the_parent(
    sandbox: Sandbox, events_a: Slice
) -> None:
    """A constant column is one value to the engine's byte limit: the parent's read cap stops it."""
    query = "SELECT repeat('x', 1000000) AS s FROM numbers(200)"
    assert (
        await refused(sandbox, query, [events_a]) == "The result is larger than the allowed size."
    )


# The child process


async def test_a_child_killed_mid_query_is_a_refusal(sandbox: Sandbox, events_a: Slice) -> None:
    task = asyncio.create_task(
        sandbox.run([events_a], "SELECT sleep(3)", {}, timeout_ms=10_000, query_id="t")
    )
    await asyncio.sleep(1.0)
    for child in list(sandbox._running):
        os.killpg(child.proc.pid, signal.SIGKILL)
    with pytest.raises(QueryRefused) as caught:
        await task
    assert caught.value.message == GENERIC_MESSAGE
    assert (await run(sandbox, "SELECT 1 AS one", [events_a])).rows == [{"one": 1}]


async def test_a_cancelled_run_kills_its_child(sandbox: Sandbox, events_a: Slice) -> None:
    task = asyncio.create_task(
        sandbox.run([events_a], "SELECT sleep(3)", {}, timeout_ms=10_000, query_id="t")
    )
    await asyncio.sleep(1.0)
    (child,) = sandbox._running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert child.proc.poll() is not None
    assert not await asyncio.to_thread(os.path.exists, child.workdir)


async def test_the_spare_has_a_private_folder_and_no_secrets(
    sandbox: Sandbox, events_a: Slice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_SERVER_SECRET", "do-not-leak")
    await run(sandbox, "SELECT 1", [events_a])  # the spare is made while the secret is set
    spare = sandbox._spare
    assert spare is not None
    raw = await asyncio.to_thread(Path(f"/proc/{spare.proc.pid}/environ").read_bytes)
    environ = raw.split(b"\0")
    names = {entry.split(b"=", 1)[0] for entry in environ if entry}
    assert names <= {b"PATH", b"LANG", b"LC_ALL", b"TZ", b"HOME", b"TMPDIR"}
    assert f"HOME={spare.workdir}".encode() in environ
    assert stat.S_IMODE(os.stat(spare.workdir).st_mode) == 0o700
    # chdb's import steps into its own package folder for a moment: wait until the spare is up.
    deadline = time.monotonic() + 30
    while os.readlink(f"/proc/{spare.proc.pid}/cwd") != spare.workdir:
        assert time.monotonic() < deadline, os.readlink(f"/proc/{spare.proc.pid}/cwd")
        await asyncio.sleep(0.05)


async def test_the_child_is_confined_by_landlock(sandbox: Sandbox, events_a: Slice) -> None:
    task = asyncio.create_task(
        sandbox.run([events_a], "SELECT sleep(1)", {}, timeout_ms=5000, query_id="t")
    )
    await asyncio.sleep(0.5)
    (child,) = sandbox._running
    await task
    assert child.confined is True


async def test_aclose_kills_the_spare_and_refuses_later_runs(events_a: Slice) -> None:
    box = Sandbox()
    await box.run([events_a], "SELECT 1", {}, timeout_ms=5000, query_id="t")
    spare = box._spare
    assert spare is not None
    await box.aclose()
    assert spare.proc.poll() is not None
    with pytest.raises(QueryRefused):
        await box.run([events_a], "SELECT 1", {}, timeout_ms=5000, query_id="t")


async def test_a_spare_that_waited_longer_than_the_start_up_limit_still_serves(
    events_a: Slice,
) -> None:
    """The start-up clock of a spare runs from its start; one that has idled past it has long
    been ready and must serve (it once failed every query after 30 s without one)."""
    box = Sandbox(startup_timeout_s=3.0)
    try:
        assert (await run(box, "SELECT count() AS c FROM default.events", [events_a])).rows
        spare = box._spare
        assert spare is not None
        await asyncio.sleep(4.0)
        outcome = await run(box, "SELECT count() AS c FROM default.events", [events_a])
        assert outcome.rows == [{"c": 100}]
    finally:
        await box.aclose()
