"""The Redis-backed limiter on the machine's Redis: rates, failure gates, settings, fail-open."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from authstack_core.ratelimit import RateLimiter
from authstack_core.ratelimit_rules import (
    DEFAULT_RULES,
    Failures,
    Rate,
    RateLimitedError,
    parse_overrides,
    rules_from,
)
from authstack_core.settings import Settings, SettingsError
from tests.conftest import QUEUE_NAMESPACE, SERVER_SECRET, TEST_REDIS_URL, free_port

PROJECT = "6c0e5bd4-3c1e-4c39-9d4a-0d3f4e4f8a11"
OTHER_PROJECT = "0f4c6a55-8a0e-4a3a-b5a9-1ad7f8d53c22"
MakeLimiter = Callable[..., RateLimiter]


@pytest.fixture
async def make_limiter() -> AsyncIterator[MakeLimiter]:
    """Limiters on a namespace of their own (under the session's, which is cleaned up)."""
    made: list[RateLimiter] = []
    namespace = f"{QUEUE_NAMESPACE}:rl{secrets.token_hex(4)}"

    def make(overrides: str = "", url: str = TEST_REDIS_URL, **kwargs: object) -> RateLimiter:
        limiter = RateLimiter(
            url,
            namespace=namespace,
            secret=SERVER_SECRET,
            rules=rules_from(parse_overrides(overrides)),
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def refused(limiter: RateLimiter, action: str, **subject: str) -> RateLimitedError:
    with pytest.raises(RateLimitedError) as info:
        await limiter.check(action, **subject)
    return info.value


def test_overrides_parse_in_both_forms() -> None:
    compact = parse_overrides(
        "password_sign_in.ip=100/1min:20; otp_send.recipient=off;"
        " password_sign_in.account=free=3,cap=30s"
    )
    as_json = parse_overrides(
        '{"password_sign_in.ip": "100/1min:20", "otp_send.recipient": null,'
        ' "password_sign_in.account": {"free": 3, "cap": "30s"}}'
    )
    assert compact == as_json
    assert compact["password_sign_in.ip"] == Rate(count=100, period=60, burst=20)
    assert compact["password_sign_in.account"] == Failures(free=3, base=1, cap=30, forgive=600)
    rules = rules_from(compact)
    assert "otp_send.recipient" not in {r.name for r in rules["otp_send"]}
    assert {r.name for r in rules["otp_send"]} == {"otp_send.ip"}
    # A burst left out keeps the default rule's.
    default = DEFAULT_RULES["token_refresh.ip"]
    assert isinstance(default, Rate)
    assert parse_overrides("token_refresh.ip=10/s")["token_refresh.ip"] == Rate(
        count=10, period=1, burst=default.burst
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("password_sign_in=10/1min", "is named"),
        ("password_sign_in.host=10/1min", "is named"),
        ("password_sign_in.ip=ten per minute", "count/period"),
        ("password_sign_in.account=free=3,bogus=1", "unknown field"),
        ("password_sign_in.account=free=3,base=1min,cap=1s", "cap must be at least base"),
        ("{not json", "JSON"),
        ("password_sign_in.ip", "rule=limit"),
    ],
)
def test_bad_overrides_are_refused_naming_the_rule(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_overrides(spec)


def test_settings_refuse_bad_limits_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACK_DATABASE_CONNECTION_STRING", "postgresql://x@127.0.0.1/x")
    monkeypatch.setenv("STACK_SERVER_SECRET", SERVER_SECRET)
    monkeypatch.setenv("STACK_RATE_LIMITS", "otp_send.ip=lots")
    with pytest.raises(SettingsError, match="STACK_RATE_LIMITS"):
        Settings.from_env()
    monkeypatch.setenv("STACK_RATE_LIMITS", "")
    monkeypatch.setenv("STACK_TRUSTED_PROXY_NETWORKS", "10.0.0.0/8, not-a-network")
    with pytest.raises(SettingsError, match="STACK_TRUSTED_PROXY_NETWORKS"):
        Settings.from_env()
    monkeypatch.setenv("STACK_TRUSTED_PROXY_NETWORKS", "10.1.2.3/8,::1")
    settings = Settings.from_env()
    assert settings.trusted_proxy_networks == ("10.0.0.0/8", "::1/128")
    assert settings.rate_limit_enabled is True
    monkeypatch.setenv("STACK_TRUSTED_PROXY", "true")
    assert "192.168.0.0/16" in {str(n) for n in Settings.from_env().proxy_networks}


async def test_a_rate_allows_its_burst_then_refuses_with_the_wait(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter("otp_send.ip=1/1min:3")
    for _ in range(3):
        await limiter.check("otp_send", ip="198.51.100.1")
    error = await refused(limiter, "otp_send", ip="198.51.100.1")
    assert 55 <= error.retry_after <= 60
    assert error.rule == "otp_send.ip"
    await limiter.check("otp_send", ip="198.51.100.2")  # another address has its own bucket


async def test_failures_slow_down_progressively_and_a_success_clears_them(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter("password_sign_in.account=free=2,base=1s,cap=2s,forgive=10min")
    who = {"project": PROJECT, "account": "victim@example.com"}
    for _ in range(3):  # two free, the third admitted but it starts a 1 s hold
        await limiter.check("password_sign_in", **who)
    assert (await refused(limiter, "password_sign_in", **who)).retry_after == 1
    # Other accounts, and the same address in another project, are untouched.
    await limiter.check("password_sign_in", project=PROJECT, account="other@example.com")
    await limiter.check("password_sign_in", project=OTHER_PROJECT, account="victim@example.com")
    # Case does not open a new bucket.
    await refused(limiter, "password_sign_in", project=PROJECT, account=" VICTIM@example.com")
    await asyncio.sleep(1.05)
    await limiter.check("password_sign_in", **who)  # the fourth: next hold 2 s (the cap)
    assert (await refused(limiter, "password_sign_in", **who)).retry_after == 2
    await limiter.clear("password_sign_in", project=PROJECT, account="victim@example.com")
    for _ in range(3):
        await limiter.check("password_sign_in", **who)


async def test_a_refused_check_counts_nothing_on_its_other_rules(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter("password_sign_in.ip=1/1h:1; password_sign_in.account=free=1")
    who = {"project": PROJECT, "account": "a@example.com"}
    await limiter.check("password_sign_in", ip="203.0.113.9", **who)
    for _ in range(5):
        assert (await refused(limiter, "password_sign_in", ip="203.0.113.9", **who)).rule == (
            "password_sign_in.ip"
        )
    # The account saw one attempt only: one more is still free... then the gate holds.
    await limiter.check("password_sign_in", ip="203.0.113.10", **who)
    await refused(limiter, "password_sign_in", ip="203.0.113.11", **who)


async def test_two_limiters_on_one_namespace_share_their_counts(
    make_limiter: MakeLimiter,
) -> None:
    first, second = make_limiter("otp_send.recipient=1/1h:4"), make_limiter("")
    second.rules = first.rules
    who = {"project": PROJECT, "recipient": "shared@example.com"}
    for limiter in (first, second, first, second):
        await limiter.check("otp_send", **who)
    await refused(first, "otp_send", **who)
    await refused(second, "otp_send", **who)


async def test_redis_holds_no_email_address(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    email = f"private-{secrets.token_hex(4)}@example.com"
    await limiter.check("otp_send", project=PROJECT, recipient=email)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{QUEUE_NAMESPACE}:rl*", count=1000)]
    finally:
        client.close()
    assert any(":otp_send.recipient:" in k for k in keys)
    assert not any(email.partition("@")[0] in k for k in keys)


async def test_disabled_limiter_never_refuses(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter("otp_send.ip=1/1h:1", enabled=False)
    for _ in range(3):
        await limiter.check("otp_send", ip="198.51.100.7")


async def test_unreachable_redis_fails_open_quickly(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter("otp_send.ip=1/1h:1", url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.perf_counter()
    for _ in range(20):
        await limiter.check("otp_send", ip="198.51.100.8")
        await limiter.clear("password_sign_in", project=PROJECT, account="x@example.com")
    assert time.perf_counter() - started < 1.0


async def test_a_hung_redis_costs_at_most_the_timeout(make_limiter: MakeLimiter) -> None:
    """A server that accepts connections and never answers: the check gives up after ~50 ms."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0"
        limiter = make_limiter("otp_send.ip=1/1h:1", url=url, timeout_s=0.05)
        started = time.perf_counter()
        await limiter.check("otp_send", ip="198.51.100.9")
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(50):  # within the back-off: not even tried
            await limiter.check("otp_send", ip="198.51.100.9")
        rest = time.perf_counter() - started
    assert first < 0.5
    assert rest < 0.1


async def test_a_refused_key_is_refused_again_without_asking_redis(
    make_limiter: MakeLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood from a throttled client costs no Redis round trip until its Retry-After is over;
    other keys and a cleared gate still go to Redis."""
    limiter = make_limiter("otp_send.ip=1/1h:1; password_sign_in.account=free=0,base=1h,cap=1h")
    calls: list[list[str]] = []
    real_eval = limiter._eval

    async def counting_eval(keys: list[str], args: list[int]) -> list[object]:
        calls.append(keys)
        return await real_eval(keys, args)

    monkeypatch.setattr(limiter, "_eval", counting_eval)
    await limiter.check("otp_send", ip="198.51.100.7")
    first = await refused(limiter, "otp_send", ip="198.51.100.7")
    assert len(calls) == 2
    for _ in range(5):
        again = await refused(limiter, "otp_send", ip="198.51.100.7")
        assert again.rule == first.rule == "otp_send.ip"
        assert 1 <= again.retry_after <= first.retry_after
    assert len(calls) == 2
    await limiter.check("otp_send", ip="198.51.100.8")  # another address goes to Redis
    assert len(calls) == 3

    who = {"project": PROJECT, "account": "held@example.com"}
    await limiter.check("password_sign_in", **who)
    await refused(limiter, "password_sign_in", **who)
    await refused(limiter, "password_sign_in", **who)
    assert len(calls) == 5
    await limiter.clear("password_sign_in", project=PROJECT, account="held@example.com")
    await limiter.check("password_sign_in", **who)  # the success forgot the remembered hold
    assert len(calls) == 6
