"""Garbage-collector settings for long-running services, applied once start-up is done."""

from __future__ import annotations

import gc

# A few hundred container objects are made per request, so the default 700 runs a young
# collection on nearly every request, and each promotes whatever the requests in flight still
# hold. Promotions are what trigger full collections.
GEN0_THRESHOLD = 50_000


def settle_heap() -> None:
    """Collect once, then move every object alive after start-up (modules, the app, its routes
    and schemas: a few hundred thousand objects) out of the collector's sight with
    ``gc.freeze()``, and make young collections rarer.

    A full collection otherwise walks that whole start-up heap: on the API about 100 ms, every
    few seconds under load, which is the whole of its p99. Frozen objects are never collected;
    nothing made at start-up is garbage anyway.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
