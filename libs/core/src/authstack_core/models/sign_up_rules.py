"""Sign-up rules (``auth.signUpRules``): the rules as configured, what a sign-up shows them (the
CEL context), what evaluating them decided, and the trigger counts of the stats route. No I/O."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from authstack_core.email_address import email_key

if TYPE_CHECKING:  # models.users imports models.config, which imports this module
    import cel

    from authstack_core.models.users import NewUser

AuthMethod = Literal["password", "otp", "oauth", "passkey"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("password", "otp", "oauth", "passkey")
# The actions the stats count. A stored config may also carry "add_metadata", an action of older
# upstream versions that current upstream no longer has; it decides nothing here, like "log".
MAX_CONDITION_LENGTH = 8192
# Compiled programs by source text. Few distinct conditions exist (a handful per project), so a
# small LRU keeps every live one compiled while bounding what stale ones can hold.
_COMPILED_CACHE_SIZE = 1024
# What the CEL library raises: ValueError for a syntax error, RuntimeError for an unknown
# variable or a bad regex, TypeError for mismatched operand types.
CEL_ERRORS = (ValueError, RuntimeError, TypeError)


@functools.lru_cache(maxsize=_COMPILED_CACHE_SIZE)
def compile_condition(condition: str) -> cel.Program | str:
    """The compiled program, or why ``condition`` is not one (cached either way)."""
    if len(condition) > MAX_CONDITION_LENGTH:
        return f"The condition is longer than {MAX_CONDITION_LENGTH} characters."
    # Imported on first use: the package loads its command-line tooling (typer, rich,
    # prompt_toolkit: ~30 MB of RSS) with it, which an API whose projects have no sign-up rules
    # never needs.
    import cel  # noqa: PLC0415

    try:
        return cel.compile(condition)
    except CEL_ERRORS as exc:
        return f"The condition is not a valid CEL expression: {exc}"


def check_condition(condition: str) -> str | None:
    """Why ``condition`` cannot be a sign-up rule's condition, or None when it compiles.

    For the config API to refuse such a rule when it is saved; evaluation treats one that slips
    through as not matching.
    """
    compiled = compile_condition(condition)
    return compiled if isinstance(compiled, str) else None


COUNTED_ACTIONS = ("allow", "reject", "restrict", "log")
ActionType = Literal["allow", "reject", "restrict", "log", "add_metadata"]
Status = Literal["matched", "not_matched", "disabled", "missing_condition", "error"]
Decision = Literal["allow", "reject", "default-allow", "default-reject"]


class RuleAction(msgspec.Struct, frozen=True):
    type: ActionType
    message: str | None = None  # for the project's own eyes: never shown to the signing-up user


class SignUpRule(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """One entry of ``auth.signUpRules``. A rule counts only when ``enabled`` is true."""

    action: RuleAction
    enabled: bool = False
    display_name: str | None = None
    priority: int | float = 0
    condition: str | None = None


def parse_rules(raw: object) -> list[tuple[str, SignUpRule]]:
    """The rules of a rendered ``auth.signUpRules`` in evaluation order: lower priority number
    first, then by id. An entry that is not shaped like a rule is left out (the config API
    refuses such entries; this keeps one stored before that from breaking sign-up)."""
    rules: list[tuple[str, SignUpRule]] = []
    for rule_id, value in (raw if isinstance(raw, dict) else {}).items():
        try:
            rules.append((str(rule_id), msgspec.convert(value, SignUpRule)))
        except msgspec.ValidationError:
            continue
    return sorted(rules, key=lambda item: (item[1].priority, item[0]))


@dataclass(frozen=True, slots=True)
class SignUpContext:
    """What a rule's condition sees of a sign-up. ``email`` is folded to lower case (ASCII, as
    addresses are compared) and empty when the sign-up has none (OAuth without an email)."""

    email: str
    email_domain: str
    country_code: str
    auth_method: AuthMethod
    oauth_provider: str
    risk_bot: int = 0
    risk_free_trial_abuse: int = 0

    @classmethod
    def of(
        cls,
        *,
        email: str | None,
        auth_method: AuthMethod,
        oauth_provider: str | None = None,
        country_code: str | None = None,
        risk_scores: tuple[int, int] = (0, 0),
    ) -> SignUpContext:
        folded = email_key(email or "")
        return cls(
            email=folded,
            email_domain=folded.rpartition("@")[2] if "@" in folded else "",
            country_code=(country_code or "").strip().upper(),
            auth_method=auth_method,
            oauth_provider=oauth_provider or "",
            risk_bot=risk_scores[0],
            risk_free_trial_abuse=risk_scores[1],
        )

    def variables(self) -> dict[str, Any]:
        """The CEL variables, under upstream's names."""
        return {
            "email": self.email,
            "emailDomain": self.email_domain,
            "countryCode": self.country_code,
            "authMethod": self.auth_method,
            "oauthProvider": self.oauth_provider,
            "riskScores": {"bot": self.risk_bot, "freeTrialAbuse": self.risk_free_trial_abuse},
        }

    def json(self, *, turnstile_result: str) -> dict[str, Any]:
        """The ``context`` of ``POST /internal/sign-up-rules-test``."""
        return {
            "email": self.email,
            "email_domain": self.email_domain,
            "country_code": self.country_code,
            "auth_method": self.auth_method,
            "oauth_provider": self.oauth_provider,
            "turnstile_result": turnstile_result,
            "risk_scores": {"bot": self.risk_bot, "free_trial_abuse": self.risk_free_trial_abuse},
        }


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    rule_id: str
    rule: SignUpRule
    status: Status
    error: str | None = None

    def json(self) -> dict[str, Any]:
        action: dict[str, Any] = {"type": self.rule.action.type}
        if self.rule.action.message is not None:
            action["message"] = self.rule.action.message
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "display_name": self.rule.display_name or "",
            "enabled": self.rule.enabled,
            "condition": self.rule.condition or "",
            "status": self.status,
            "action": action,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class SignUpOutcome:
    """The rules' verdict on one sign-up, with every rule looked at up to the deciding one."""

    context: SignUpContext
    evaluations: tuple[RuleEvaluation, ...]
    decision: Decision
    decision_rule_id: str | None
    restricting: RuleEvaluation | None  # the first matched "restrict" rule

    @property
    def should_allow(self) -> bool:
        return self.decision in ("allow", "default-allow")

    @property
    def triggered(self) -> list[RuleEvaluation]:
        """The rules that matched: each is one ``$sign-up-rule-trigger``."""
        return [e for e in self.evaluations if e.status == "matched"]

    def outcome_json(self) -> dict[str, Any]:
        return {
            "should_allow": self.should_allow,
            "decision": self.decision,
            "decision_rule_id": self.decision_rule_id,
            "restricted_because_of_rule_id": (
                self.restricting.rule_id if self.restricting is not None else None
            ),
        }

    def restriction_note(self, existing: str | None) -> str | None:
        """The user's ``restricted_by_admin_private_details`` after a restrict rule (appended to
        what it held); None when no restrict rule matched. The public reason stays unset."""
        if self.restricting is None:
            return None
        name = self.restricting.rule.display_name
        note = f"Restricted by sign-up rule: {self.restricting.rule_id}" + (
            f" ({name})" if name else ""
        )
        return f"{existing}\n\n{note}" if existing else note

    def restrict(self, new: NewUser) -> NewUser:
        """``new``, restricted by the administrator when a restrict rule matched."""
        note = self.restriction_note(new.restricted_by_admin_private_details)
        if note is None:
            return new
        return replace(new, restricted_by_admin=True, restricted_by_admin_private_details=note)


STATS_HOURS = 48


@dataclass(frozen=True, slots=True)
class TriggerCount:
    """How often one rule fired with one action within one hour (UTC, naive)."""

    rule_id: str
    action: str
    hour: datetime
    count: int


def _hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H:00:00.000Z")


@dataclass(frozen=True, slots=True)
class RuleStats:
    """``GET /internal/sign-up-rules-stats``: triggers of the last 48 hours, per rule by hour."""

    first_hour: datetime  # UTC, naive, on the hour
    counts: list[TriggerCount]  # ordered by hour

    def json(self) -> dict[str, Any]:
        hours = [_hour_key(self.first_hour + timedelta(hours=i)) for i in range(STATS_HOURS)]
        by_rule: dict[str, dict[str, int]] = {}  # first-seen order, as upstream lists them
        by_action = dict.fromkeys(COUNTED_ACTIONS, 0)
        for c in self.counts:
            per_hour = by_rule.setdefault(c.rule_id, {})
            per_hour[_hour_key(c.hour)] = per_hour.get(_hour_key(c.hour), 0) + c.count
            if c.action in by_action:
                by_action[c.action] += c.count
        return {
            "rule_triggers": [
                {
                    "rule_id": rule_id,
                    "total_count": sum(per_hour.values()),
                    "hourly_counts": [{"hour": h, "count": per_hour.get(h, 0)} for h in hours],
                }
                for rule_id, per_hour in by_rule.items()
            ],
            "total_triggers": sum(c.count for c in self.counts),
            "triggers_by_action": by_action,
        }
