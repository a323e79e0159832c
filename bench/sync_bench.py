"""External database sync benchmark (issue 15): existing users reaching an empty target, and the
lag from a user update to the target row under steady updates.

    uv run python bench/sync_bench.py [--users 100000] [--rate 50] [--seconds 30]

Everything is real and on loopback: a fresh source database migrated and seeded as bench/run.py
does, a project of ``--users`` users (benchdata.add_many_users: one INSERT ... SELECT, so the
capture triggers mark every row changed as any insert would), the API, ONE worker process
(``python -m authstack_worker``: the sync engine), and a fresh empty target database on
127.0.0.1 (so STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS=true) named through the config override API.
The cron's two calls (sequencer, poller) run every ``--period`` s (0.5) instead of every minute,
each in its own loop as the two CronJobs run them, so the figures are the pipeline's speed and not
the cron's period. Prints figures; asserts nothing.

1. Initial sync: from configuring the target to every user in the target's ``users``, with the
   time until the sequencer has numbered every user and the time the engine's copy took.
2. Lag: PATCH /users/{id} (server key, a unique display name) at ``--rate`` per second for
   ``--seconds``; per update, the API's answer (committed) to the engine's commit of the row in
   the target (a NOTIFY trigger the bench adds to the target only).
3. Refresh churn: a refresh touches its session and user (at most once a minute per session),
   which marks both rows changed: what that costs the pipeline.
4. A second target added when every row is numbered already (a project that has been idle).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import Project, free_port, fresh_database, stop_process

from authstack_core.crypto.codes import new_refresh_token, sha256_bytes
from benchdata import service_env
from knobs import ADMIN_URL, BENCH_DIR
from procstats import loadavg, machine_info
from run import bench_ready, forget_redis_keys, prepare
from sync_drive import (
    FastCron,
    Listener,
    Update,
    add_target,
    bench_user_id,
    count,
    refresh_sessions,
    stats,
    update_users,
    wait_for,
)
from wrkload import Server, log, print_table, start_server

CRON_SECRET = "bench-cron-secret-0123456789abcdef"
UNNUMBERED = "SELECT count(*) FROM {} WHERE tenancy_id = %s AND sync_sequence_id IS NULL"
NUMBERED_SINCE = "SELECT count(*) FROM {} WHERE tenancy_id = %s AND sync_sequence_id > %s"
SOURCE_MAX = "SELECT max(sync_sequence_id) FROM {} WHERE tenancy_id = %s"
TARGET_LAST = "SELECT last_synced_sequence_id FROM _stack_sync_metadata WHERE mapping_name = %s"
NOTE_CRON = (
    "under the real cron (once a minute) a change waits up to a minute for the next sequencer and"
    " poller calls on top of this: the lag is bounded by the period; this measures the pipeline"
)


def start_worker(env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    with (work / "worker.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "authstack_worker"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=BENCH_DIR,
        )


def log_problems(path: Path) -> str:
    """How many warnings and errors a service logged (JSON lines), and the first."""
    problems = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("warning", "error", "critical"):
            problems.append(record)
    if not problems:
        return "no warnings or errors"
    first = {k: v for k, v in problems[0].items() if k in ("level", "event", "error", "exc_info")}
    return f"{len(problems)} warnings or errors; the first: {json.dumps(first)[:400]}"


def drained(db: str, target: str, tenancy_id: str, tables: dict[str, str]) -> bool:
    """Every change of these source tables (mapping -> table) numbered and in the target."""
    for mapping, table in tables.items():
        if count(db, UNNUMBERED.format(table), (tenancy_id,)):
            return False
        if count(target, TARGET_LAST, (mapping,)) < count(
            db, SOURCE_MAX.format(table), (tenancy_id,)
        ):
            return False
    return True


def initial_sync(
    api: Server, cron: FastCron, db: str, target: str, big: Project, users: int, timeout: float
) -> float:
    """Phase 1; the sequencer's numbering rate (rows/s), for the churn estimate."""
    tid = big.tenancy_id
    started = time.monotonic()
    add_target(api.url, big, "bench", target)
    cron.start()
    marks: dict[str, float] = {}
    in_target = 0
    while time.monotonic() - started < timeout:
        now = time.monotonic() - started
        for table in ("users", "contact_channels"):
            if table not in marks and not count(db, UNNUMBERED.format(table), (tid,)):
                marks[table] = now
        in_target = count(target, "SELECT count(*) FROM users")
        if in_target and "first" not in marks:
            marks["first"] = now
        if in_target >= users:
            marks["done"] = now
            break
        time.sleep(0.2)
    channels = wait_for(
        lambda: count(target, "SELECT count(*) FROM contact_channels") >= users,
        max(1.0, timeout - (time.monotonic() - started)),
        every=0.2,
    )
    print(
        f"\n1. Initial sync: {users:,} existing users (each with a primary contact channel), "
        "marked changed and not numbered yet, to an empty target"
    )
    if "done" not in marks:
        rate = in_target / timeout
        print(f"   NOT DONE in {timeout:.0f} s: {in_target:,} users in the target ({rate:,.0f}/s)")
        return rate
    done, first = marks["done"], marks.get("first", 0.0)
    numbered = max(marks.get("users", done), marks.get("contact_channels", done))
    passes = cron.calls["sequencer"].reported
    print(
        f"   all {users:,} users in the target {done:.1f} s after configuring it "
        f"({users / done:,.0f} users/s end to end); the first after {first:.1f} s"
    )
    print(
        f"   sequencer: every user and contact channel numbered after {numbered:.1f} s "
        f"({2 * users / numbered:,.0f} rows/s; {passes} passes of up to 1,000 rows per table); "
        f"the last user row reached the target {done - marks.get('users', done):.1f} s after the "
        "last user was numbered"
    )
    if channels is not None:
        print(f"   contact_channels (the next mapping) complete {channels + done:.1f} s after")
    for name, calls in cron.calls.items():
        what = "passes" if name == "sequencer" else "sync messages sent"
        print(f"   {name} calls: {calls.describe()}; {what}: {calls.reported}")
    return 2 * users / numbered


def print_lag(updates: list[Update], listener: Listener, cron: FastCron) -> list[float]:
    """The lag figures of ``updates``; their lags (ms)."""
    ok = [u for u in updates if u.status == 200]
    wait_for(lambda: all(u.name in listener.seen for u in ok), 60, every=0.2)
    lags = [(listener.seen[u.name] - u.answered) * 1000 for u in ok if u.name in listener.seen]
    api_ms = [(u.answered - u.sent) * 1000 for u in ok]
    span = max(u.answered for u in updates) - min(u.sent for u in updates)
    print(
        f"   achieved {len(updates) / span:.1f} updates/s ({len(ok)} answered 200, "
        f"{len(updates) - len(ok)} not); the API answered in {stats(api_ms)}"
    )
    print(
        f"   API answer -> row committed in the target: {stats(lags)} "
        f"({len(lags)} of {len(ok)} seen; {len(ok) - len(lags)} not within 60 s)"
    )
    for name, calls in cron.calls.items():
        print(f"   {name} calls: {calls.describe()}")
    return lags


def lag_under_load(
    api: Server, cron: FastCron, listener: Listener, big: Project, users: int, args: Any
) -> None:
    """Phase 2."""
    cron.reset()
    print(
        f"\n2. Lag under load: PATCH /users/{{id}} (server key, a new display name) aimed at "
        f"{args.rate:g}/s for {args.seconds:g} s; sequencer and poller every {cron.period:g} s"
    )
    print_lag(update_users(api.url, big, users, args.rate, args.seconds), listener, cron)
    print(f"   note: {NOTE_CRON}")


def add_sessions(db: str, big: Project, sessions: int) -> list[str]:
    """A session (refresh token, last active 5 minutes ago) for each of the first users."""
    tokens = [new_refresh_token() for _ in range(sessions)]
    with psycopg.connect(db) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO refresh_tokens (tenancy_id, id, user_id, token_hash, expires_at,"
            " last_active_at) VALUES (%s, gen_random_uuid(), %s, %s, now() + interval '1 day',"
            " now() - interval '5 minutes')",
            [(big.tenancy_id, bench_user_id(i + 1), sha256_bytes(t)) for i, t in enumerate(tokens)],
        )
    return tokens


def refresh_churn(
    api: Server, cron: FastCron, db: str, target: str, listener: Listener, big: Project, args: Any
) -> int:
    """Phase 3; the rows one refreshed idle session marks changed."""
    tid = big.tenancy_id
    tables = {"users": "users", "refresh_tokens": "refresh_tokens"}
    sessions = min(args.sessions, args.users // 2)
    tokens = add_sessions(db, big, 2 * sessions)
    alone, loaded = tokens[:sessions], tokens[sessions:]
    print(f"\n3. Refresh churn: {2 * sessions:,} sessions idle for 5 minutes (1 per user)")
    if wait_for(lambda: drained(db, target, tid, tables), 120, every=0.2) is None:
        print("   skipped: the new sessions did not reach the target in 120 s")
        return 0
    per_session = 0
    for round_ in ("first", "second"):
        before = count(db, "SELECT last_value FROM global_seq_id")
        rewritten = len(listener.seen)
        ok, took = refresh_sessions(api.url, big, alone, 0, None)
        drain = wait_for(lambda: drained(db, target, tid, tables), 60, every=0.1)
        marked = {t: count(db, NUMBERED_SINCE.format(t), (tid, before)) for t in tables.values()}
        per_session = per_session or round(sum(marked.values()) / max(1, ok))
        print(
            f"   {round_} refresh of {sessions:,} sessions (8 at a time): {ok:,} answered 200, "
            f"{ok / took:,.0f}/s; rows numbered: users {marked['users']:,}, refresh_tokens "
            f"{marked['refresh_tokens']:,}; all in the target "
            f"{'not within 60 s' if drain is None else f'{drain:.1f} s'} after the last "
            f"refresh; users rows rewritten there: {len(listener.seen) - rewritten}"
        )
    churn_rate = sessions / args.churn_seconds
    print(
        f"   lag of PATCH /users at {args.rate:g}/s for {args.churn_seconds:g} s while "
        f"{sessions:,} other idle sessions refresh at {churn_rate:,.0f}/s:"
    )
    cron.reset()
    with ThreadPoolExecutor(1) as pool:
        churn = pool.submit(refresh_sessions, api.url, big, loaded, sessions, churn_rate)
        updates = update_users(api.url, big, args.users, args.rate, args.churn_seconds)
        ok, took = churn.result()
    print(f"   refreshes: {ok:,} answered 200 at {ok / took:,.0f}/s")
    print_lag(updates, listener, cron)
    return per_session


def idle_target(
    api: Server, stack: ExitStack, db: str, first: str, big: Project, users: int
) -> float:
    """Phase 4: a target added while every row is numbered and nothing changes; the engine's
    copy rate (users rows/s) when it finally runs."""
    tables = {m: m for m in ("users", "contact_channels", "refresh_tokens")}
    wait_for(lambda: drained(db, first, big.tenancy_id, tables), 60, every=0.2)
    wait_for(lambda: not count(db, "SELECT count(*) FROM external_db_sync_requests"), 30)
    time.sleep(2)  # a sync run in flight ends: only a new request may fill the new target
    second = stack.enter_context(fresh_database("authstack_bench_target"))
    started = time.monotonic()
    add_target(api.url, big, "second", second)
    filled = wait_for(lambda: count(second, "SELECT count(*) FROM users") >= users, 15, every=0.5)
    print("\n4. A second empty target added while every row is numbered already (idle project)")
    if filled is not None:
        print(f"   all {users:,} users there after {filled:.1f} s")
        return users / filled
    print(
        "   users in it after 15 s: "
        f"{count(second, 'SELECT count(*) FROM users'):,}: nothing asks for a sync of a tenancy "
        "without new changes, so adding a target fills it only at the next change"
    )
    httpx.patch(
        f"{api.url}/api/v1/users/{bench_user_id(1)}",
        headers=big.headers("server"),
        json={"display_name": "wake"},
        timeout=30,
    ).raise_for_status()
    filled = wait_for(lambda: count(second, "SELECT count(*) FROM users") >= users, 120, every=0.2)
    if filled is None:
        print("   after one user update: still not filled in 120 s")
        return 0.0
    print(
        f"   after one user update: all {users:,} users there {filled:.1f} s later "
        f"({users / filled:,.0f} rows/s: the engine's copy alone, nothing left to number; "
        f"{time.monotonic() - started:.0f} s after adding it)"
    )
    return users / filled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="user updates per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="of updates")
    parser.add_argument("--period", type=float, default=0.5, help="s between cron calls")
    parser.add_argument("--sessions", type=int, default=3000, help="per refresh set, phase 3")
    parser.add_argument("--churn-seconds", type=float, default=15.0, help="phase 3's lag load")
    parser.add_argument("--timeout", type=float, default=240.0, help="s for the initial sync")
    args = parser.parse_args()
    if not bench_ready():
        return 2
    started = time.monotonic()
    print_table("Machine", ("what", "value"), machine_info())
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="authstack-sync-")))
        db = stack.enter_context(fresh_database("authstack_bench", ADMIN_URL))
        target = stack.enter_context(fresh_database("authstack_bench_target", ADMIN_URL))
        stack.callback(forget_redis_keys)
        env = {
            **service_env(db),
            "CRON_SECRET": CRON_SECRET,
            "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the target is on 127.0.0.1
        }
        _, big, _ = prepare(db, env, work, big_users=args.users)
        marked = count(db, UNNUMBERED.format("users"), (big.tenancy_id,))
        log(f"{marked:,} of the project's users are marked changed (not numbered)")
        port = free_port()
        api_env = {**env, "STACK_API_PORT": str(port), "STACK_API_HOST": "127.0.0.1"}
        api = start_server("api", [sys.executable, "-m", "authstack_api"], api_env, port, work)
        stack.callback(api.stop)
        worker = start_worker(env, work)
        stack.callback(stop_process, worker, 30)
        time.sleep(3)  # the worker's start-up is not part of the sync
        cron = FastCron(api.url, CRON_SECRET, args.period, 20_000)
        stack.callback(cron.stop)
        number_rate = initial_sync(api, cron, db, target, big, args.users, args.timeout)
        listener = Listener(target)
        stack.callback(listener.stop)
        lag_under_load(api, cron, listener, big, args.users, args)
        per_session = refresh_churn(api, cron, db, target, listener, big, args)
        copy_rate = idle_target(api, stack, db, target, big, args.users)
        slowest = min(number_rate, copy_rate)
        if per_session and slowest:
            print(
                f"\nChurn estimate: a session refreshed after a minute or more idle marks "
                f"{per_session} rows; the slower stage here (sequencer {number_rate:,.0f}, "
                f"engine {copy_rate:,.0f} rows/s) absorbs about "
                f"{slowest * 60 / per_session:,.0f} such sessions a minute"
            )
        print(f"\nworker log: {log_problems(work / 'worker.log')}")
        print(f"API log: {log_problems(work / 'api.log')}")
        print(
            f"load average at the end: {loadavg()}; total time "
            f"{time.monotonic() - started:.0f} s (machine shared: figures vary between runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
