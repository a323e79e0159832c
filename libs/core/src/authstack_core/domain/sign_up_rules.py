"""Sign-up rules: CEL conditions over a sign-up, checked on every path that creates an account.

Rules are evaluated in order (``models.sign_up_rules.parse_rules``); a disabled rule or one
without a condition is skipped. The first matching ``allow`` or ``reject`` rule decides; a
matching ``restrict`` rule (the first one) makes the new user restricted by the administrator,
and ``log`` only records. When no rule decides, ``auth.signUpRulesDefaultAction`` does. A
condition that does not compile or fails to evaluate counts as not matching, so a broken rule
never blocks sign-up nor answers 500. Every matching rule is one ``$sign-up-rule-trigger``, kept
in ``sign_up_rule_triggers`` for the stats.

Anonymous sign-up is not checked (as upstream); its upgrade by a password sign-up is. Each new
way of creating an account calls ``check_sign_up`` (or uses a ``Gate`` inside a transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from psycopg import AsyncConnection

from authstack_core.analytics.events import Event
from authstack_core.db.queries import sign_up_rules as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain.context import Deps
from authstack_core.errors import SignUpRejected
from authstack_core.models.config import ProjectConfig
from authstack_core.models.projects import TenantProject
from authstack_core.models.sign_up_rules import (
    CEL_ERRORS,
    STATS_HOURS,
    Decision,
    RuleEvaluation,
    RuleStats,
    SignUpContext,
    SignUpOutcome,
    compile_condition,
)
from authstack_core.models.users import UserColumns

log = structlog.get_logger(__name__)


def _truthy(value: object) -> bool:
    # As upstream reads a result (JavaScript's truthiness): only false, 0, "" and null are false;
    # a list or map is true even when empty.
    if isinstance(value, bool | int | float | str):
        return bool(value)
    return value is not None


def _matches(condition: str, context: SignUpContext) -> str | bool:
    """Whether the condition holds for ``context``, or the error that stopped it."""
    program = compile_condition(condition)
    if isinstance(program, str):
        return program
    try:
        return _truthy(program.execute(context.variables()))
    except CEL_ERRORS as exc:
        return f"Failed to evaluate the condition: {exc}"


def evaluate(config: ProjectConfig, context: SignUpContext) -> SignUpOutcome:
    """The rules' verdict on a sign-up; no I/O, nothing recorded (the test route's trace)."""
    evaluations: list[RuleEvaluation] = []
    restricting: RuleEvaluation | None = None
    for rule_id, rule in config.sign_up_rules:
        if not rule.enabled:
            evaluations.append(RuleEvaluation(rule_id, rule, "disabled"))
            continue
        if not rule.condition:
            evaluations.append(RuleEvaluation(rule_id, rule, "missing_condition"))
            continue
        matched = _matches(rule.condition, context)
        if isinstance(matched, str):
            log.warning("sign-up rule condition failed", rule_id=rule_id, error=matched)
            evaluations.append(RuleEvaluation(rule_id, rule, "error", matched))
            continue
        evaluation = RuleEvaluation(rule_id, rule, "matched" if matched else "not_matched")
        evaluations.append(evaluation)
        if not matched:
            continue
        if rule.action.type == "restrict" and restricting is None:
            restricting = evaluation
        if rule.action.type in ("allow", "reject"):
            return SignUpOutcome(
                context, tuple(evaluations), rule.action.type, rule_id, restricting
            )
    default: Decision = (
        "default-reject" if config.sign_up_rules_reject_by_default else "default-allow"
    )
    return SignUpOutcome(context, tuple(evaluations), default, None, restricting)


class Gate:
    """The sign-up checks of one request. ``admit`` evaluates the rules (inside a transaction if
    need be) and raises SIGN_UP_REJECTED; ``record`` then writes the triggers, once that
    transaction is over: a rejection rolls it back, and its triggers must still count."""

    def __init__(self, deps: Deps, project: TenantProject) -> None:
        self._deps = deps
        self._project = project
        self._outcomes: list[SignUpOutcome] = []

    def admit(self, context: SignUpContext) -> SignUpOutcome:
        """The rules' verdict on this sign-up; raise SIGN_UP_REJECTED if they refuse it."""
        outcome = evaluate(self._project.config, context)
        self._outcomes.append(outcome)
        if not outcome.should_allow:
            raise SignUpRejected()
        return outcome

    async def record(self) -> None:
        """Write what ``admit`` saw fire (see ``record_triggers``)."""
        outcomes, self._outcomes = self._outcomes, []
        await record_triggers(self._deps, self._project, outcomes)


async def record_triggers(
    deps: Deps, project: TenantProject, outcomes: list[SignUpOutcome]
) -> None:
    """The ``$sign-up-rule-trigger`` events: one per rule that matched a real sign-up, queued
    for ClickHouse and written to PostgreSQL (the rule statistics) in a transaction of their
    own. A failure is logged, not raised: losing a count must not fail a sign-up (as upstream)."""
    outcomes = [o for o in outcomes if o.triggered]
    if not outcomes:
        return
    for outcome in outcomes:
        context = outcome.context
        for fired in outcome.triggered:
            deps.analytics.record(
                Event(
                    "$sign-up-rule-trigger",
                    project.id,
                    "main",
                    {
                        "project_id": project.id,
                        "branch_id": "main",
                        "rule_id": fired.rule_id,
                        "action": fired.rule.action.type,
                        "email": context.email,
                        "auth_method": context.auth_method,
                        "oauth_provider": context.oauth_provider,
                    },
                )
            )
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            for outcome in outcomes:
                await q.insert_triggers(conn, project.tenancy_id, outcome)
    except Exception:
        log.exception("sign-up rule triggers not recorded", project_id=project.id)


async def check_sign_up(
    deps: Deps, project: TenantProject, context: SignUpContext
) -> SignUpOutcome:
    """Check a sign-up against the project's rules and record what fired; call it before the
    transaction that creates the account, and ``restrict`` the new user by the outcome.

    ``context`` names the sign-up's email (if any) and method: "password", "otp", "oauth"
    (with the provider id) or "passkey". Raise SIGN_UP_REJECTED.
    """
    gate = Gate(deps, project)
    try:
        return gate.admit(context)
    finally:
        await gate.record()


async def restrict_upgraded_in(
    conn: AsyncConnection[Any], project: TenantProject, user_id: str, outcome: SignUpOutcome
) -> None:
    """Restrict an anonymous user becoming a full one, in the caller's transaction, when a
    restrict rule matched its sign-up (its earlier private details are kept above the note)."""
    if outcome.restricting is None:
        return
    user = await users_q.select_user(conn, project.tenancy_id, user_id)
    assert user is not None  # the caller holds the upgrade's transaction
    columns = UserColumns(
        restricted_by_admin=True,
        restricted_by_admin_private_details=outcome.restriction_note(
            user.restricted_by_admin_private_details
        ),
    )
    await users_q.update_user_columns(conn, project.tenancy_id, user_id, columns)


async def stats(deps: Deps, project: TenantProject, now: datetime | None = None) -> RuleStats:
    """The project's rule triggers of the last 48 hours (this hour included), by rule and hour."""
    this_hour = (
        (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    )
    since = this_hour - timedelta(hours=STATS_HOURS - 1)
    async with deps.pool.connection() as conn:
        counts = await q.select_trigger_counts(conn, project.tenancy_id, since)
    return RuleStats(since.replace(tzinfo=None), counts)
