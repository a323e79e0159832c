"""The send_email actor: claim an outbox row, send it over SMTP, record what happened."""

from __future__ import annotations

import asyncio

import dramatiq
import structlog

from authstack_core.domain import email_delivery
from authstack_core.domain.context import Deps
from authstack_core.jobs import SEND_EMAIL
from authstack_worker.broker import declare_actor
from authstack_worker.smtp import SmtpDeliveryError, SmtpPool

log = structlog.get_logger(__name__)

# Recording the outcome right after the server accepted the message matters most: if it is
# lost, the row's lease runs out and the message is sent again. Try a few times first.
_RECORD_TRIES = (0.2, 1.0, 3.0)


class EmailDelivery:
    """What the actor needs beyond its argument: the shared deps and the SMTP connections."""

    def __init__(self, deps: Deps, smtp: SmtpPool) -> None:
        self.deps = deps
        self.smtp = smtp

    async def deliver(self, outbox_id: str) -> None:
        delivery = await email_delivery.claim_delivery(self.deps, outbox_id)
        if delivery is None:
            return  # not due, already done, held by another worker, or recorded as skipped/failed
        bound = structlog.contextvars.bound_contextvars(
            outbox_id=str(delivery.outbox_id), attempt=delivery.attempt
        )
        with bound:
            try:
                response = await self.smtp.send(delivery)
            except SmtpDeliveryError as failure:
                await email_delivery.record_failure(
                    self.deps, delivery, str(failure), temporary=failure.temporary
                )
                return
            for pause in (*_RECORD_TRIES, None):
                try:
                    await email_delivery.record_sent(self.deps, delivery, response)
                except Exception:
                    if pause is None:
                        raise
                    log.warning("could not record a sent email yet; retrying", exc_info=True)
                    await asyncio.sleep(pause)
                else:
                    break
            log.info("email sent")


def register(broker: dramatiq.Broker, delivery: EmailDelivery, *, time_limit_ms: int) -> None:
    """Declare the email actors on ``broker`` (names and queue from the job contracts)."""

    async def send_email(outbox_id: str) -> None:
        await delivery.deliver(outbox_id)

    declare_actor(broker, SEND_EMAIL, send_email, time_limit_ms=time_limit_ms)
