"""settle_heap: the start-up heap leaves the collector's sight and young collections get rarer."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from authstack_core.heap import GEN0_THRESHOLD, settle_heap
assert gc.get_freeze_count() == 0
settle_heap()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
assert gc.get_threshold()[0] == GEN0_THRESHOLD
# A full collection now walks only what was made since: a cycle made after still goes.
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a
del a, b
assert gc.collect() >= 2
print("ok")
"""


def test_settle_heap_freezes_start_up_objects_and_still_collects_new_cycles() -> None:
    # In a child: the collector's settings belong to the whole process.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
