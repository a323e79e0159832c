"""Python function calls per request of refresh and ``/users/me``, today and at earlier commits.

``uv run python bench/calls.py --baseline REV [--baseline REV ...]``. Requests per second on this
shared machine swing by ±20% between identical runs; the number of Python calls a request makes
does not, so it shows whether a change added work to the hot paths. Each tree runs
bench/calls_driver.py against one fresh database (migrated by today's migrator) and prints one row.
It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import create_project, fresh_database

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from baseline import SOURCES, revision_sources
from benchdata import add_session_users, service_env
from knobs import ADMIN_URL, BENCH_DIR
from wrkload import json_child, print_table

LOADS = ("health", "refresh", "users/me")


def count(pythonpath: str, env: dict[str, str]) -> dict[str, int]:
    driver = [sys.executable, str(BENCH_DIR / "calls_driver.py")]
    counts: dict[str, int] = json_child(driver, {**env, "PYTHONPATH": pythonpath})
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", action="append", default=[])
    args = parser.parse_args()
    root = BENCH_DIR.parent
    rows = []
    with fresh_database("authstack_calls", ADMIN_URL) as url, tempfile.TemporaryDirectory() as work:
        env = {
            **service_env(url),
            "STACK_LOG_LEVEL": "warning",
            "STACK_RATE_LIMIT_ENABLED": "false",
        }
        migrate(url)
        seed(Settings(**env))  # type: ignore[arg-type]
        project = create_project(url, name="Calls")
        _, [refresh_token] = add_session_users(url, project, 1)
        env = {
            **os.environ,
            **env,
            "CALLS_PROJECT_ID": project.id,
            "CALLS_CLIENT_KEY": project.publishable_client_key,
            "CALLS_REFRESH_TOKEN": refresh_token,
        }
        today = count(":".join(str(root / s) for s in SOURCES), env)
        rows.append(("today", *(str(today[k]) for k in LOADS)))
        for rev in args.baseline:
            with revision_sources(rev, Path(work)) as pythonpath:
                then = count(pythonpath, env)
            rows.append((rev, *(f"{then[k]} (today {today[k] / then[k]:.1%})" for k in LOADS)))
    print_table("Python calls per request (in process)", ("tree", *LOADS), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
