"""Parse time spans written the way Stack Auth's env files write them ("10min", "60s", "1 hour")."""

from __future__ import annotations

import re

_UNITS: dict[str, float] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "y": 31557600, "yr": 31557600, "yrs": 31557600, "year": 31557600, "years": 31557600,
}  # fmt: skip

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)


def parse_timespan(text: str) -> int:
    """Return the span in whole seconds; raise ValueError for anything not a positive span."""
    match = _SPAN.match(text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a time span: {text!r} (examples: '10min', '60s', '1h')")
    seconds = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if seconds <= 0:
        raise ValueError(f"time span must be positive: {text!r}")
    return seconds
