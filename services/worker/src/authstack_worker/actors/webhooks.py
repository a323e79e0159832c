"""The deliver_webhooks actor: a project's queued events and due deliveries, sent in order."""

from __future__ import annotations

import dramatiq

from authstack_core.domain.webhook_delivery import Deliverer
from authstack_core.jobs import DELIVER_WEBHOOKS


def register(broker: dramatiq.Broker, deliverer: Deliverer, *, time_limit_ms: int) -> None:
    """Declare the webhook actor on ``broker`` (name and queue from the job contract)."""

    async def deliver_webhooks(tenancy_id: str) -> None:
        await deliverer.deliver(tenancy_id)

    # dramatiq's retries cover infrastructure trouble (the database down); each delivery keeps
    # its own schedule, and the lane lock makes a repeated or concurrent wake-up harmless.
    declare = dramatiq.actor(
        broker=broker,
        actor_name=DELIVER_WEBHOOKS.actor,
        queue_name=DELIVER_WEBHOOKS.queue,
        max_retries=3,
        min_backoff=1000,
        max_backoff=30000,
        time_limit=time_limit_ms,
    )
    declare(deliver_webhooks)
