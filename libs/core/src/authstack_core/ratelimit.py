"""Rate limits shared by every API replica: one Redis round trip (a Lua script) per check.

Each *action* (``password_sign_in``, ``otp_send``, ...) has rules named ``<action>.<key kind>``,
the key kind saying what the bucket is counted by: ``ip`` (the client address, all projects
together), ``account`` (project + the account an attempt targets), ``recipient`` (project + the
address an email goes to) or ``project``. A rule is either

* a **rate** (GCRA): ``burst`` at once, refilled at ``count`` per ``period`` seconds; or
* a **failure gate** (progressive delay, never a lock-out): ``free`` attempts, then each attempt
  must wait ``base`` seconds, doubling up to ``cap``; one attempt is forgiven every ``forgive``
  seconds and a success clears the gate (``RateLimiter.clear``). Attempts are counted when they
  are admitted, so parallel guesses cannot slip through together; the caller clears the gate
  after a success, which leaves only failures counted.

All rules of one check are decided together in Redis (all pass, or nothing is counted), using
Redis' clock so replicas with skewed clocks agree. Deployments override any rule with
``STACK_RATE_LIMITS`` (see ``parse_overrides``) and switch everything off with
``STACK_RATE_LIMIT_ENABLED=false``. While Redis is unreachable checks **fail open** (sign-in keeps
working), with a warning logged at most every ``_WARN_EVERY`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import structlog

from authstack_core.redis_pipe import RedisPipe, RedisPipeError, RedisReplyError
from authstack_core.timespan import parse_timespan

if TYPE_CHECKING:
    from authstack_core.settings import Settings

log = structlog.get_logger(__name__)

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
    "api_key_check.ip": _rate(6000, 60, 1000),
    # Generous: an SDK refreshes about every 10 minutes per signed-in tab.
    "token_refresh.ip": _rate(3000, 60, 1000),
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


# --- the limiter ------------------------------------------------------------------------------

# KEYS: one bucket per rule. ARGV: five numbers per key. kind 1 (rate, GCRA): interval_ms, burst;
# kind 2 (failure gate): free, base_ms, cap_ms, forgive_ms. Returns {allowed, wait_ms, index}:
# the longest wait asked by any refusing rule and that rule's 1-based index. Nothing is written
# unless every rule allows.
_CHECK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, who = 0, 0
local plan = {}
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 5
  local kind = tonumber(ARGV[o + 1])
  local a, b = tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  if kind == 1 then
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local new_tat = tat + a
    local over = new_tat - b * a - now
    if over > 0 then
      if over > wait then wait, who = over, i end
    else
      plan[#plan + 1] = {1, key, new_tat, new_tat - now}
    end
  else
    local c, d = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
    local s = redis.call('HMGET', key, 'n', 't', 'u')
    local n, last, u = tonumber(s[1]) or 0, tonumber(s[2]) or now, tonumber(s[3]) or 0
    if u > now then
      if u - now > wait then wait, who = u - now, i end
    else
      n = n - (now - last) / d
      if n < 0 then n = 0 end
      n = n + 1
      -- bounded, so that the gate opens again within (a + 30) * d after an attack stops
      if n > a + 30 then n = a + 30 end
      local hold = 0
      local extra = math.ceil(n) - a
      if extra > 0 then
        hold = b * 2 ^ (extra - 1)
        if hold > c then hold = c end
      end
      plan[#plan + 1] = {2, key, n, now, now + hold, math.ceil(n * d + hold)}
    end
  end
end
if wait > 0 then return {0, math.ceil(wait), who} end
for _, p in ipairs(plan) do
  if p[1] == 1 then
    redis.call('SET', p[2], p[3], 'PX', p[4])
  else
    redis.call('HSET', p[2], 'n', p[3], 't', p[4], 'u', p[5])
    redis.call('PEXPIRE', p[2], p[6])
  end
end
return {1, 0, 0}
"""
_CHECK_SHA = hashlib.sha1(_CHECK_LUA.encode()).hexdigest()  # noqa: S324  # Redis names scripts by SHA-1
_BACKOFF_S = 1.0  # after a Redis failure, skip it (fail open) this long instead of timing out again
_WARN_EVERY = 30.0
_ARGS_PAD = (0, 0)


def _args(limit: Limit) -> tuple[int, ...]:
    if isinstance(limit, Rate):
        return (1, limit.interval_ms, limit.burst, *_ARGS_PAD)
    return (
        2,
        limit.free,
        round(limit.base * 1000),
        round(limit.cap * 1000),
        round(limit.forgive * 1000),
    )


class RateLimiter:
    """Checks actions against their rules in Redis. One per process; safe to share."""

    def __init__(
        self,
        redis_url: str,
        *,
        namespace: str,
        secret: str,
        rules: dict[str, tuple[Rule, ...]],
        enabled: bool = True,
        timeout_s: float = 0.1,
    ) -> None:
        self.enabled = enabled
        self.rules = rules
        self._prefix = f"{namespace}:rl:"
        # Emails are keyed by a keyed hash: Redis never holds the addresses themselves.
        self._hash_key = hashlib.sha256(b"authstack-rate-limit-key:" + secret.encode()).digest()
        self._redis = RedisPipe(redis_url, timeout_s)
        self._down_until = 0.0
        self._last_warning = 0.0
        self._skipped = 0
        self._loaded = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            settings.redis_url,
            namespace=settings.queue_namespace,
            secret=settings.server_secret,
            rules=rules_from(parse_overrides(settings.rate_limits)),
            enabled=settings.rate_limit_enabled,
            timeout_s=settings.rate_limit_redis_timeout_ms / 1000,
        )

    def _digest(self, value: str) -> str:
        return hashlib.blake2b(
            value.strip().lower().encode(), key=self._hash_key, digest_size=16
        ).hexdigest()

    def _key(
        self,
        rule: Rule,
        *,
        ip: str | None,
        project: str | None,
        account: str | None,
        recipient: str | None,
    ) -> str | None:
        kind = rule.key
        if kind == "ip":
            return None if ip is None else f"{self._prefix}{rule.name}:{ip}"
        if project is None:
            return None
        if kind == "project":
            return f"{self._prefix}{rule.name}:{project}"
        value = account if kind == "account" else recipient
        if value is None:
            return None
        return f"{self._prefix}{rule.name}:{project}:{self._digest(value)}"

    async def check(
        self,
        action: str,
        *,
        ip: str | None = None,
        project: str | None = None,
        account: str | None = None,
        recipient: str | None = None,
    ) -> None:
        """Count one attempt at ``action``; raise RateLimitedError if any of its rules refuses.

        Rules whose key is not given are skipped. Fails open (returns) while Redis is down.
        """
        if not self.enabled:
            return
        keys: list[str] = []
        args: list[int] = []
        names: list[str] = []
        for rule in self.rules.get(action, ()):
            key = self._key(rule, ip=ip, project=project, account=account, recipient=recipient)
            if key is not None:
                keys.append(key)
                args.extend(_args(rule.limit))
                names.append(rule.name)
        if not keys or self._skipping():
            return
        try:
            reply = await self._eval(keys, args)
        except (RedisPipeError, RedisReplyError, OSError) as exc:
            self._failed(exc)
            return
        allowed, wait_ms, who = int(reply[0]), int(reply[1]), int(reply[2])
        if not allowed:
            raise RateLimitedError(max(1, math.ceil(wait_ms / 1000)), names[who - 1])

    async def clear(self, action: str, *, project: str | None, account: str | None = None) -> None:
        """After a success: forget the failures counted on ``action``'s failure gates."""
        if not self.enabled or project is None or account is None or self._skipping():
            return
        keys = [
            key
            for rule in self.rules.get(action, ())
            if isinstance(rule.limit, Failures)
            and (key := self._key(rule, ip=None, project=project, account=account, recipient=None))
        ]
        if not keys:
            return
        try:
            await self._redis.call("DEL", *keys)
        except (RedisPipeError, RedisReplyError, OSError) as exc:
            self._failed(exc)

    async def _eval(self, keys: list[str], args: list[int]) -> list[Any]:
        if not self._loaded:
            await self._redis.call("SCRIPT", "LOAD", _CHECK_LUA)
            self._loaded = True
        try:
            reply: list[Any] = await self._redis.call(
                "EVALSHA", _CHECK_SHA, len(keys), *keys, *args
            )
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # Redis restarted or was flushed since the script was loaded: load it once more.
            await self._redis.call("SCRIPT", "LOAD", _CHECK_LUA)
            reply = await self._redis.call("EVALSHA", _CHECK_SHA, len(keys), *keys, *args)
        return reply

    def _skipping(self) -> bool:
        if self._down_until and time.monotonic() < self._down_until:
            self._skipped += 1
            return True
        return False

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + _BACKOFF_S
        self._loaded = False
        self._skipped += 1
        if now - self._last_warning >= _WARN_EVERY:
            log.warning(
                "rate limits not enforced: Redis unreachable, failing open",
                error=type(exc).__name__,
                skipped_checks=self._skipped,
            )
            self._last_warning = now
            self._skipped = 0

    async def aclose(self) -> None:
        self._redis.close()


def describe_rules(rules: dict[str, tuple[Rule, ...]]) -> list[tuple[str, str]]:
    """(rule name, human description) for every effective rule, sorted by name."""
    return sorted((r.name, r.limit.describe()) for group in rules.values() for r in group)
