"""Per-project email sending capacity: how many mails a project sends per hour, the worker's
check before it claims a row, ``GET /emails/delivery-info`` and ``POST /emails/capacity-boost``.

The rate follows upstream's formula: ``STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR`` (200) plus four
times the project's average hourly sent mail over the last month, times a penalty factor (1 here:
plain SMTP reports no bounces or spam complaints), times 4 during a capacity boost (4 hours). A
project may send a minute's worth at once (its burst), then at that rate.

Over capacity a row is never dropped: it stays ``pending``/``retry_scheduled`` with its
``next_attempt_at`` moved to the sending slot it reserved, and a wake-up for that time. High-
priority mail (every built-in auth mail: verification, reset, sign-in codes, invitations) is
never held back and takes no share, so a marketing burst can never delay a sign-in code.
Upstream sends high-priority rows first within the same quota; a per-row worker has no batch to
order, so here they bypass the quota instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries import email_capacity as q
from authstack_core.domain.context import Deps
from authstack_core.errors import EmailCapacityBoostAlreadyActive
from authstack_core.models.projects import TenantProject
from authstack_core.settings import Settings

BOOST_MULTIPLIER = 4
BOOST_DURATION = timedelta(hours=4)
BURST_SECONDS = 60.0  # a project may send this many seconds' worth of its rate at once
PENALTY_FACTOR = 1.0  # no bounce or spam reports over plain SMTP: never lowered
# dramatiq's Redis broker refuses delays of 7 days or more (as in email_outbox).
_MAX_WAKEUP_DELAY = timedelta(days=6).total_seconds()


@dataclass(frozen=True, slots=True)
class Capacity:
    per_hour: float  # before the boost
    boost_multiplier: int

    @property
    def per_second(self) -> float:
        return self.per_hour * self.boost_multiplier / 3600

    @property
    def burst(self) -> float:
        return max(1.0, self.per_second * BURST_SECONDS)


def capacity(settings: Settings, *, month_sent: int, boost_active: bool) -> Capacity:
    default = settings.email_default_capacity_per_hour
    baseline = default + 4 * month_sent / 30 / 24
    per_hour = max(baseline * PENALTY_FACTOR, default / 4)
    return Capacity(per_hour, BOOST_MULTIPLIER if boost_active else 1)


def _initial_tokens(settings: Settings) -> float:
    """A new tenancy's bucket starts full at the default rate."""
    return capacity(settings, month_sent=0, boost_active=False).burst


async def _capacity_of(
    conn: AsyncConnection[Any], settings: Settings, tenancy_id: uuid.UUID
) -> Capacity:
    state = await q.sending_state(conn, tenancy_id, initial_tokens=_initial_tokens(settings))
    return capacity(settings, month_sent=state.month_sent, boost_active=state.boost_active)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """The row waits for its sending slot, ``delay`` seconds from now."""

    delay: float


async def hold_back(
    conn: AsyncConnection[Any], settings: Settings, outbox_id: uuid.UUID
) -> HeldBack | None:
    """In the claim's transaction, before the claim: take the row's share of its project's
    capacity, or hold the row back until the slot it reserves. None: claim it now.

    A row that is not waiting (a lease run out, paused, cancelled, finished) is left to the claim,
    which takes only waiting rows and expired leases. If the row stops waiting between this check
    and the hold (cancelled meanwhile), the caller rolls the transaction back, share included.
    """
    head = await q.select_waiting_head(conn, outbox_id)
    if head is None or head.is_high_priority or head.slot_due:
        return None
    if head.capacity_slot_at is not None:  # rescheduled before its reserved slot: wait for it
        seconds = (head.capacity_slot_at - datetime.now(UTC)).total_seconds()
    else:
        cap = await _capacity_of(conn, settings, head.tenancy_id)
        balance = await q.take_token(
            conn, head.tenancy_id, rate_per_second=cap.per_second, burst=cap.burst
        )
        if balance >= 0:
            return None
        seconds = -balance / cap.per_second
    seconds = max(seconds, 0.001)
    held = await q.defer(conn, outbox_id, seconds=seconds, wakeup=seconds < _MAX_WAKEUP_DELAY)
    return HeldBack(seconds) if held is not None else None


# --- the API's side -------------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    """JavaScript's toISOString: UTC, milliseconds, a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def delivery_info(deps: Deps, project: TenantProject) -> dict[str, Any]:
    """``GET /emails/delivery-info``: sent mail per window and the capacity in force."""
    settings = deps.settings
    async with deps.pool.connection() as conn, conn.transaction():
        counts = await q.count_sent(conn, project.tenancy_id)
        state = await q.sending_state(
            conn, project.tenancy_id, initial_tokens=_initial_tokens(settings)
        )
    cap = capacity(settings, month_sent=counts.month, boost_active=state.boost_active)

    def window(sent: int) -> dict[str, int]:
        return {"sent": sent, "bounced": 0, "marked_as_spam": 0}

    return {
        "stats": {
            "hour": window(counts.hour),
            "day": window(counts.day),
            "week": window(counts.week),
            "month": window(counts.month),
        },
        "capacity": {
            "rate_per_second": cap.per_second,
            "boost_multiplier": cap.boost_multiplier,
            "penalty_factor": PENALTY_FACTOR,
            "is_boost_active": state.boost_active,
            "boost_expires_at": _iso(state.boost_expires_at) if state.boost_expires_at else None,
        },
    }


async def start_boost(deps: Deps, project: TenantProject) -> str:
    """``POST /emails/capacity-boost``: 4x capacity for 4 hours; its end as an ISO string.
    EMAIL_CAPACITY_BOOST_ALREADY_ACTIVE while one runs."""
    async with deps.pool.connection() as conn, conn.transaction():
        expires = await q.start_boost(
            conn,
            project.tenancy_id,
            seconds=BOOST_DURATION.total_seconds(),
            initial_tokens=_initial_tokens(deps.settings),
        )
        if expires is None:
            running = await q.select_boost(conn, project.tenancy_id)
            assert running is not None, "START_BOOST only skips a running boost"
            raise EmailCapacityBoostAlreadyActive(expires_at=_iso(running))
    return _iso(expires)
