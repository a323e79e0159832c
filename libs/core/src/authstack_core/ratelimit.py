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
import math
import time
from typing import TYPE_CHECKING, Any

import structlog

from authstack_core.observability import series
from authstack_core.ratelimit_rules import (
    Failures,
    Limit,
    Rate,
    RateLimitedError,
    Rule,
    parse_overrides,
    rules_from,
)
from authstack_core.redis_pipe import RedisPipe, RedisPipeError, RedisReplyError

if TYPE_CHECKING:
    from authstack_core.settings import Settings

log = structlog.get_logger(__name__)


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
# Keys refused by Redis, remembered in this process until their Retry-After runs out, so that a
# flood from a throttled client costs no Redis round trip. Bounded: spoofed keys cannot grow it.
_DENIED_MAX = 10_000
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
        # key -> (monotonic deadline, rule name). Redis would refuse these keys until the deadline
        # anyway: a refused check writes nothing, and other replicas can only lengthen a wait.
        self._denied: dict[str, tuple[float, str]] = {}

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
        if not keys:
            return
        if self._denied:
            self._refuse_remembered(keys)
        if self._skipping():
            return
        try:
            reply = await self._eval(keys, args)
        except (RedisPipeError, RedisReplyError, OSError) as exc:
            self._failed(exc)
            return
        allowed, wait_ms, who = int(reply[0]), int(reply[1]), int(reply[2])
        if not allowed:
            self._remember(keys[who - 1], wait_ms / 1000, names[who - 1])
            raise RateLimitedError(max(1, math.ceil(wait_ms / 1000)), names[who - 1])

    def _refuse_remembered(self, keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            found = self._denied.get(key)
            if found is None:
                continue
            deadline, name = found
            if deadline > now:
                raise RateLimitedError(max(1, math.ceil(deadline - now)), name)
            del self._denied[key]

    def _remember(self, key: str, wait_s: float, name: str) -> None:
        now = time.monotonic()
        if len(self._denied) >= _DENIED_MAX:
            self._denied = {k: v for k, v in self._denied.items() if v[0] > now}
            if len(self._denied) >= _DENIED_MAX:
                self._denied.clear()
        self._denied[key] = (now + wait_s, name)

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
        for key in keys:
            self._denied.pop(key, None)
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
        series.redis_error("rate_limit")
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
