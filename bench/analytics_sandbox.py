"""The admin query sandbox: a warm-spare job vs a cold start, and a count over 1,000,000 events.

Run: ``uv run python bench/analytics_sandbox.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.analytics.slices import events_native, events_slice

from authstack_core.analytics.sandbox import Sandbox, Slice

ROUNDS = 7


async def timed(box: Sandbox, slices: list[Slice], query: str) -> float:
    started = time.perf_counter()
    await box.run(slices, query, {}, timeout_ms=60_000, query_id="bench")
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    small = [events_slice("bench", 100)]
    cold_box = Sandbox(keep_spare=False)
    cold = [await timed(cold_box, small, "SELECT count() FROM events") for _ in range(ROUNDS)]
    await cold_box.aclose()

    warm_box = Sandbox()
    await timed(warm_box, small, "SELECT 1")  # makes the first spare
    warm = []
    for _ in range(ROUNDS):
        await asyncio.sleep(2)  # let the spare finish starting, as between an admin's queries
        warm.append(await timed(warm_box, small, "SELECT count() FROM events"))

    made = time.perf_counter()
    native = events_native("bench", 1_000_000)
    export_s = time.perf_counter() - made
    big = [Slice("events", native)]
    counts = []
    for _ in range(5):
        await asyncio.sleep(2)
        counts.append(await timed(warm_box, big, "SELECT count() FROM events"))
    await warm_box.aclose()

    print(f"cold start job, 100 events:  median {statistics.median(cold):7.0f} ms")
    print(f"warm spare job, 100 events:  median {statistics.median(warm):7.0f} ms")
    print(f"1,000,000 events export: {len(native) / 1e6:.1f} MB Native, made in {export_s:.2f} s")
    print(
        f"1,000,000 events SELECT count(), end to end on a warm spare: "
        f"median {statistics.median(counts):.0f} ms, max {max(counts):.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
