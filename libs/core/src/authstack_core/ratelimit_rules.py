"""Rate-limit rules: the default table, what a rule is, and how deployments override them.

The limiter itself (one Redis round trip per check) is ``authstack_core.ratelimit``; this module
holds no I/O. ``STACK_RATE_LIMITS`` is parsed here (``parse_overrides``) when settings load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from authstack_core.timespan import parse_timespan

KeyKind = Literal["ip", "account", "recipient", "project"]
KEY_KINDS: tuple[KeyKind, ...] = ("ip", "account", "recipient", "project")


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``burst`` requests at once, refilled at ``count`` per ``period`` seconds."""

    count: int
    period: float
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, round(self.period * 1000 / self.count))

    def describe(self) -> str:
        return f"{self.count}/{_span(self.period)}, burst {self.burst}"


@dataclass(frozen=True, slots=True)
class Failures:
    """``free`` attempts, then a wait of ``base`` seconds doubling to ``cap``; one attempt is
    forgiven every ``forgive`` seconds, and a success clears the count."""

    free: int
    base: float
    cap: float
    forgive: float

    def describe(self) -> str:
        return (
            f"{self.free} free, then {_span(self.base)} doubling to {_span(self.cap)}; "
            f"one forgiven per {_span(self.forgive)}"
        )


Limit = Rate | Failures


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # "<action>.<key kind>"
    limit: Limit
    action: str
    key: KeyKind

    @classmethod
    def named(cls, name: str, limit: Limit) -> Rule:
        action, _, kind = name.rpartition(".")
        if not action or kind not in KEY_KINDS:
            raise ValueError(f"{name!r}: a rule is named '<action>.<{'|'.join(KEY_KINDS)}>'")
        return cls(name, limit, action, kind)


def _rate(count: int, period: float, burst: int) -> Rate:
    return Rate(count=count, period=period, burst=burst)


# Per-account failures: 5 free, then 1 s, 2 s, 4 s ... up to one try a minute, one forgiven per
# 10 minutes. A victim under attack waits at most a minute per attempt; an attacker gets about
# 1,440 guesses a day per account instead of hundreds a second.
_FAILURES = Failures(free=5, base=1, cap=60, forgive=600)
# Emails to one address: 5 at once, then one per 2 minutes (30 an hour).
_PER_RECIPIENT = _rate(30, 3600, 5)
# Per IP, all projects together: high enough that thousands of users behind one NAT and a test
# suite or load test signing up hundreds of accounts a minute from loopback are never throttled.
_IP_SIGN_IN = _rate(1200, 60, 300)
_IP_MAIL = _rate(300, 60, 100)
_IP_CODE = _rate(300, 60, 100)

DEFAULT_RULES: dict[str, Limit] = {
    "password_sign_in.ip": _IP_SIGN_IN,
    "password_sign_in.account": _FAILURES,
    "password_sign_up.ip": _IP_SIGN_IN,
    "anonymous_sign_up.ip": _IP_SIGN_IN,
    "otp_send.ip": _IP_MAIL,
    "otp_send.recipient": _PER_RECIPIENT,
    # OTP guesses: also capped at 20 per code in the database, so per account the guesses a day
    # are bounded by the codes one address can be sent (otp_send.recipient) times 20.
    "otp_check.ip": _IP_CODE,
    "password_reset_send.ip": _IP_MAIL,
    "password_reset_send.recipient": _PER_RECIPIENT,
    "password_reset.ip": _IP_CODE,
    "verification_send.ip": _IP_MAIL,
    "verification_send.recipient": _PER_RECIPIENT,
    # Checks of emailed 45-character codes (contact verification, invitation acceptance).
    "code_check.ip": _IP_CODE,
    "invitation_send.ip": _IP_MAIL,
    "invitation_send.account": _rate(100, 3600, 20),  # per inviting user (client access)
    "invitation_send.recipient": _PER_RECIPIENT,
    "mfa_sign_in.ip": _IP_CODE,
    "mfa_sign_in.account": _FAILURES,
    # Passkeys: each initiate stores a challenge; each answer is a signature check. A signed-in
    # user registers a passkey now and then: a script looping on it is held per user too.
    "passkey_registration.ip": _IP_CODE,
    "passkey_registration.account": _rate(30, 60, 10),  # per user
    "passkey_sign_in.ip": _IP_CODE,
    # A stolen access token must not become an oracle for the account's current password.
    "password_update.ip": _IP_CODE,
    "password_update.account": _FAILURES,
    "api_key_check.ip": _rate(6000, 60, 1000),
    # Sign-in with OAuth: each authorize stores a flow, each callback calls the provider, and the
    # token endpoint's authorization-code grant redeems the code (its refresh grant: below).
    "oauth_authorize.ip": _IP_CODE,
    "oauth_callback.ip": _IP_CODE,
    "oauth_token.ip": _IP_CODE,
    # A connected account's access token may cost a request to the provider (a check, a refresh).
    "connected_account_token.ip": _IP_CODE,
    "connected_account_token.account": _rate(120, 60, 30),  # per user
    # Generous: an SDK refreshes about every 10 minutes per signed-in tab.
    "token_refresh.ip": _rate(3000, 60, 1000),
    # Browser events: an SDK batches them; a user sending more than this is a script.
    "analytics_events.account": _rate(600, 60, 120),  # per user
    # Session replays: an SDK sends a batch every few seconds per tab.
    "session_replay_batch.account": _rate(300, 60, 60),  # per user
    # Each embedded admin query starts a sandbox process: per project.
    "analytics_query.account": _rate(120, 60, 30),
    # Each external database connection test connects to a host the admin names: per project.
    "external_db_test.project": _rate(30, 60, 10),
    # The audit log's pages: a dashboard paging through it, not a scraper; per project.
    "audit_log_read.project": _rate(600, 60, 120),
    # CLI sign-in: each start stores an attempt; the browser's steps check a login code. The SDK
    # polls every 2 s per waiting CLI, so per IP the poll is as wide as sign-in (CLIs behind one
    # NAT); per polling code, one a second is plenty.
    "cli_auth_start.ip": _IP_CODE,
    "cli_auth_poll.ip": _IP_SIGN_IN,
    "cli_auth_poll.account": _rate(60, 60, 20),  # per polling code
    "cli_auth_complete.ip": _IP_CODE,
    # Rendering an email (a preview, a theme's trial render) is CPU work in the sandbox, up to
    # its budget each: per project. A live preview re-renders about once a second while typing.
    "email_render.project": _rate(120, 60, 30),
    # GET /health/email signs a user up and sends a mail: an uptime checker needs a few a minute.
    "email_monitor.ip": _rate(10, 60, 5),
    # Each test mail opens an SMTP connection (to a host the admin may name) and sends at once,
    # bypassing the outbox: per project, enough to try a few server settings in a row.
    "send_test_email.project": _rate(30, 3600, 5),
    # A sign-in invitation goes out even through the shared server: per address, as any mailed
    # invitation, and per project, so that a leaked server key is no mass mailer.
    "sign_in_invitation.ip": _IP_MAIL,
    "sign_in_invitation.recipient": _PER_RECIPIENT,
    "sign_in_invitation.project": _rate(1000, 3600, 200),
    # Unsubscribe links are opened without a key: each check is a signature and a query or two.
    "unsubscribe.ip": _IP_CODE,
    # GET /metrics: a Prometheus pair scraping every few seconds stays far below this.
    "metrics_scrape.ip": _rate(120, 60, 30),
}


class RateLimitedError(Exception):
    """A limit refused the request; answer 429 with ``Retry-After: retry_after``."""

    def __init__(self, retry_after: int, rule: str) -> None:
        self.retry_after = retry_after
        self.rule = rule
        super().__init__(f"rate limited by {rule}; retry after {retry_after} s")


# --- configuration ----------------------------------------------------------------------------

_RATE = re.compile(r"^\s*(\d+)\s*/\s*([0-9.]*\s*[a-z]+)\s*(?::\s*(\d+))?\s*$", re.IGNORECASE)
_FAILURE_FIELDS = ("free", "base", "cap", "forgive")


def _span(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _seconds(value: object, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        seconds = float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else parse_timespan(text)
    else:
        raise ValueError(f"{what}: expected seconds or a time span like '10min'")  # noqa: TRY004  # a configuration error, as parse_overrides promises
    if seconds <= 0:
        raise ValueError(f"{what}: must be positive")
    return seconds


def _parse_rate(text: str, name: str, default: Limit | None) -> Rate:
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"{name}: expected 'count/period[:burst]' like '300/1min:100': {text!r}")
    count = int(match.group(1))
    period_text = match.group(2).strip()
    period = _seconds(period_text if period_text[0].isdigit() else "1" + period_text, name)
    burst = (
        int(match.group(3))
        if match.group(3)
        else (default.burst if isinstance(default, Rate) else count)
    )
    if count < 1 or burst < 1:
        raise ValueError(f"{name}: count and burst must be at least 1")
    return Rate(count=count, period=period, burst=burst)


def _parse_failures(fields: dict[str, Any], name: str, default: Limit | None) -> Failures:
    unknown = set(fields) - set(_FAILURE_FIELDS)
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {sorted(unknown)}; use {_FAILURE_FIELDS}")
    base = default if isinstance(default, Failures) else _FAILURES
    free = fields.get("free", base.free)
    if isinstance(free, str) and free.strip().isdigit():
        free = int(free)
    if not isinstance(free, int) or isinstance(free, bool) or free < 0:
        raise ValueError(f"{name}: free must be a whole number >= 0")
    out = replace(
        base,
        free=free,
        **{
            f: _seconds(fields[f], f"{name}.{f}") for f in ("base", "cap", "forgive") if f in fields
        },
    )
    if out.cap < out.base:
        raise ValueError(f"{name}: cap must be at least base")
    return out


def _parse_value(name: str, value: object) -> Limit | None:
    Rule.named(name, _FAILURES)  # only to check the name
    default = DEFAULT_RULES.get(name)
    if value is None or (isinstance(value, str) and value.strip().lower() in ("off", "none")):
        return None
    if isinstance(value, dict):
        return _parse_failures(value, name, default)
    if isinstance(value, str):
        text = value.strip()
        if "=" in text:  # the compact failure form: free=3,base=2s,cap=1min,forgive=10min
            pairs = (p.partition("=") for p in text.split(",") if p.strip())
            return _parse_failures({k.strip(): v.strip() for k, _, v in pairs}, name, default)
        return _parse_rate(text, name, default)
    raise ValueError(f"{name}: expected a rate string, a failure object or 'off'")


def parse_overrides(text: str) -> dict[str, Limit | None]:
    """Parse ``STACK_RATE_LIMITS``: rule name -> limit (None: the rule is off).

    Either JSON (``{"password_sign_in.ip": "100/1min:20", "otp_send.recipient": "off",
    "password_sign_in.account": {"free": 3, "cap": "30s"}}``) or the compact form
    ``password_sign_in.ip=100/1min:20; otp_send.recipient=off;
    password_sign_in.account=free=3,cap=30s``. Raise ValueError naming the bad rule.
    """
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError("expected a JSON object of rule name -> limit")
        items: list[tuple[str, object]] = list(raw.items())
    else:
        items = []
        for part in text.split(";"):
            if not part.strip():
                continue
            name, eq, value = part.partition("=")
            if not eq:
                raise ValueError(f"{part.strip()!r}: expected 'rule=limit'")
            items.append((name.strip(), value.strip()))
    return {name: _parse_value(name, value) for name, value in items}


def rules_from(overrides: dict[str, Limit | None]) -> dict[str, tuple[Rule, ...]]:
    """The effective rules, grouped by action: the defaults with ``overrides`` applied."""
    merged: dict[str, Limit | None] = {**DEFAULT_RULES, **overrides}
    by_action: dict[str, list[Rule]] = {}
    for name, limit in merged.items():
        if limit is not None:
            rule = Rule.named(name, limit)
            by_action.setdefault(rule.action, []).append(rule)
    return {action: tuple(rules) for action, rules in by_action.items()}


def describe_rules(rules: dict[str, tuple[Rule, ...]]) -> list[tuple[str, str]]:
    """(rule name, human description) for every effective rule, sorted by name."""
    return sorted((r.name, r.limit.describe()) for group in rules.values() for r in group)
