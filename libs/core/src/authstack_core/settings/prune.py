"""How long rows stay after they expire before ``POST /internal/prune-expired`` deletes them
(see ``authstack_core.domain.prune``)."""

from __future__ import annotations

from pydantic import Field

from authstack_core.settings.loader import Section, env


class PruneSection(Section):
    # Days a row is kept past its expiry (verification codes, OAuth flows and codes, CLI sign-in
    # attempts, expired sessions): within them an expired code is still told apart from an
    # unknown one. 0 deletes rows as soon as they expire; a negative value is refused.
    prune_grace_days: int = Field(
        default=7, ge=0, le=3650, validation_alias=env("STACK_PRUNE_GRACE_DAYS")
    )
