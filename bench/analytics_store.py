"""The analytics bench's own access to an embedded store, run as a process of its own.

    python bench/analytics_store.py count --project ID
    python bench/analytics_store.py fill --project ID --rows N --users N --days N

An embedded folder is open in one process at a time, so the bench (which also starts APIs that
own the folder) never opens it itself: it runs this script, with STACK_CLICKHOUSE_URL naming the
folder, while no API holds it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from authstack_core.analytics.store import Store
from authstack_core.settings.clickhouse import ClickHouseSection

COUNT = (
    "SELECT count() FROM analytics_internal.events "
    "WHERE project_id = {project:String} AND event_type = '$token-refresh'"
)
# $token-refresh events as the API writes them, spread evenly over the last ``days`` days, for
# a pool of ``users`` user ids, each with its own refresh token id.
FILL = """
INSERT INTO analytics_internal.events
    (event_type, event_at, data, project_id, branch_id, user_id, refresh_token_id)
SELECT
    '$token-refresh',
    now64(3, 'UTC') - toIntervalMillisecond(number * {step_ms:UInt64}),
    CAST(concat('{"refresh_token_id":"', token_id, '","is_anonymous":false}') AS JSON),
    {project:String},
    'main',
    concat('00000000-0000-4000-8000-', lower(leftPad(hex(number % {users:UInt64}), 12, '0'))),
    token_id
FROM (SELECT number, toString(generateUUIDv4(number)) AS token_id FROM numbers({rows:UInt64}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["count", "fill"])
    parser.add_argument("--project", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    store = Store(ClickHouseSection())  # STACK_CLICKHOUSE_URL from the environment
    started = time.monotonic()
    try:
        with store.session() as client:
            if args.command == "count":
                count = client.query(COUNT, parameters={"project": args.project}).result_rows
                out = {"events": int(count[0][0])}
            else:
                step_ms = args.days * 86_400_000 // max(1, args.rows)
                params = {
                    "project": args.project,
                    "rows": args.rows,
                    "users": args.users,
                    "step_ms": step_ms,
                }
                client.command(FILL, parameters=params)
                out = {"inserted": args.rows}
    finally:
        store.close()
    print(json.dumps({**out, "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
