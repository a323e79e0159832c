"""Entry point: ``python -m authstack_cron [--once] [--endpoint NAME ...]``.

Environment: ``CRON_SECRET`` (required), ``NEXT_PUBLIC_SERVER_STACK_API_URL`` (the API as this
process reaches it; else ``NEXT_PUBLIC_STACK_API_URL``; else http://localhost:8102),
``STACK_CRON_INTERVAL_SECONDS`` (60) and ``STACK_CRON_TIMEOUT_SECONDS`` (60).
Forever, each tick calls every selected endpoint but the hourly ones (the failed-emails digest and
pruning), which are called on the first tick and then hourly. Run exactly one runner per
deployment (Kubernetes uses CronJobs running ``--once`` instead).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from authstack_cron.runner import (
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    ENDPOINTS,
    Log,
    run_forever,
    run_once,
)


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        message = f"authstack-cron: {name} must be a number of seconds, got {raw!r}"
        raise SystemExit(message) from None
    if value <= 0:
        raise SystemExit(f"authstack-cron: {name} must be positive")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="authstack-cron", description="Call the API's maintenance endpoints on a schedule."
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="call each selected endpoint once; exit 1 if any failed",
    )
    parser.add_argument(
        "--endpoint",
        action="append",
        choices=sorted(ENDPOINTS),
        help="only this endpoint (repeatable; default: all of them)",
    )
    args = parser.parse_args(argv)

    secret = os.environ.get("CRON_SECRET", "")
    if not secret:
        print("authstack-cron: CRON_SECRET must be set (the API's value)", file=sys.stderr)
        return 2
    api_url = (
        os.environ.get("NEXT_PUBLIC_SERVER_STACK_API_URL")
        or os.environ.get("NEXT_PUBLIC_STACK_API_URL")
        or "http://localhost:8102"
    )
    interval = _seconds("STACK_CRON_INTERVAL_SECONDS", DEFAULT_INTERVAL_S)
    timeout = _seconds("STACK_CRON_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_S)
    endpoints = args.endpoint or list(ENDPOINTS)
    log = Log()

    if args.once:
        outcomes = run_once(api_url, secret, endpoints, timeout, log)
        return 0 if all(o.ok for o in outcomes) else 1

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log("info", "stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_forever(api_url, secret, endpoints, interval=interval, timeout=timeout, stop=stop, log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
