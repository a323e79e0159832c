"""Sign-up rule triggers SQL: one row per rule that matched a sign-up, counted by the stats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all
from authstack_core.models.sign_up_rules import SignUpOutcome, TriggerCount

INSERT_TRIGGER = """
INSERT INTO sign_up_rule_triggers
    (tenancy_id, id, rule_id, action, email, auth_method, oauth_provider)
VALUES (%(tenancy_id)s, %(id)s, %(rule_id)s, %(action)s, %(email)s, %(auth_method)s,
        %(oauth_provider)s)
"""


async def insert_triggers(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, outcome: SignUpOutcome
) -> None:
    """One trigger row per rule that matched the sign-up ``outcome`` judged."""
    context = outcome.context
    async with conn.cursor() as cur:
        await cur.executemany(
            INSERT_TRIGGER,
            [
                {
                    "tenancy_id": tenancy_id,
                    "id": uuid.uuid4(),
                    "rule_id": fired.rule_id,
                    "action": fired.rule.action.type,
                    "email": context.email,
                    "auth_method": context.auth_method,
                    "oauth_provider": context.oauth_provider,
                }
                for fired in outcome.triggered
            ],
        )


# The hour is taken in UTC (the session's time zone could be anything) and comes back naive.
SELECT_TRIGGER_COUNTS = """
SELECT rule_id, action, date_trunc('hour', triggered_at AT TIME ZONE 'UTC') AS hour,
       count(*)::int AS count
FROM sign_up_rule_triggers
WHERE tenancy_id = %(tenancy_id)s AND triggered_at >= %(since)s
GROUP BY rule_id, action, hour
ORDER BY hour, rule_id, action
"""


async def select_trigger_counts(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, since: datetime
) -> list[TriggerCount]:
    """The tenancy's triggers since ``since`` (aware), counted per rule, action and hour."""
    return await fetch_all(
        conn, TriggerCount, SELECT_TRIGGER_COUNTS, tenancy_id=tenancy_id, since=since
    )
