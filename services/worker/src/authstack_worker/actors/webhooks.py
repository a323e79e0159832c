"""The deliver_webhooks actor: a project's queued events and due deliveries, sent in order."""

from __future__ import annotations

import dramatiq

from authstack_core.domain.webhook_delivery import Deliverer
from authstack_core.jobs import DELIVER_WEBHOOKS
from authstack_worker.broker import declare_actor


def register(broker: dramatiq.Broker, deliverer: Deliverer, *, time_limit_ms: int) -> None:
    """Declare the webhook actor on ``broker``; the lane lock makes a repeated or concurrent
    wake-up harmless."""

    async def deliver_webhooks(tenancy_id: str) -> None:
        await deliverer.deliver(tenancy_id)

    declare_actor(broker, DELIVER_WEBHOOKS, deliver_webhooks, time_limit_ms=time_limit_ms)
