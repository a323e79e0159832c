"""The API with its per-request metrics hook switched off: the "off" side of metrics_bench.py.

Everything else (the /metrics route, the pool sampler every 5 s) stays, so the two sides differ
only by what each request pays.
"""

from __future__ import annotations

import sys
from typing import Any

from authstack_api import __main__ as api_main
from authstack_api import middleware


def no_observation(scope: Any, status: int, started: float) -> None:
    return None


middleware.observe = no_observation

if __name__ == "__main__":
    sys.exit(api_main.main())
