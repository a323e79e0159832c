"""The limiter's pipelined Redis connection against real redis-servers."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
import redis

from authstack_core.ratelimit import RateLimiter
from authstack_core.ratelimit_rules import RateLimitedError, parse_overrides, rules_from
from authstack_core.redis_pipe import RedisPipe, RedisPipeError, RedisReplyError, encode, parse
from tests.conftest import SERVER_SECRET, TEST_REDIS_URL, free_port
from tests.mail import wait_until
from tests.mail_fixtures import PrivateRedis


def test_parse_handles_every_reply_kind_and_partial_input() -> None:
    data = b"*3\r\n:1\r\n$3\r\nabc\r\n*2\r\n+OK\r\n$-1\r\n"
    value, end = parse(data, 0)
    assert value == [1, b"abc", ["OK", None]]
    assert end == len(data)
    for cut in range(len(data)):
        assert parse(data[:cut], 0)[1] == 0  # incomplete: nothing consumed
    error, _ = parse(b"-NOSCRIPT No matching script\r\n", 0)
    assert isinstance(error, RedisReplyError)
    assert encode(("GET", "k", 5)) == b"*3\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\n5\r\n"


async def test_concurrent_calls_share_one_connection_and_get_their_own_replies() -> None:
    pipe = RedisPipe(TEST_REDIS_URL, 1.0)
    key = f"pipe-test:{secrets.token_hex(4)}"
    try:
        values = [secrets.token_hex(8) for _ in range(200)]
        await asyncio.gather(*(pipe.call("HSET", key, str(i), v) for i, v in enumerate(values)))
        got = await asyncio.gather(*(pipe.call("HGET", key, str(i)) for i in range(200)))
        assert got == [v.encode() for v in values]
        with pytest.raises(RedisReplyError, match="unknown command"):
            await pipe.call("NO-SUCH-COMMAND")
        assert await pipe.call("PING") == "PONG"  # an error reply leaves the link usable
    finally:
        await pipe.call("DEL", key)
        pipe.close()


async def test_the_database_number_of_the_url_is_selected() -> None:
    key = f"pipe-db-test:{secrets.token_hex(4)}"
    pipe = RedisPipe(TEST_REDIS_URL.rsplit("/", 1)[0] + "/3", 1.0)
    other = redis.Redis.from_url(TEST_REDIS_URL.rsplit("/", 1)[0] + "/3")
    try:
        await pipe.call("SET", key, "x", "EX", 60)
        assert other.get(key) == b"x"
    finally:
        other.delete(key)
        other.close()
        pipe.close()


@pytest.fixture
def password_redis() -> Iterator[tuple[int, str]]:
    """A redis-server that requires a password."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (Debian package redis-server)"
    port, password = free_port(), secrets.token_hex(8)
    directory = tempfile.mkdtemp(prefix="redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", directory, "--requirepass", password],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: _answers(port, password), 10, what=f"redis-server on port {port}")
        yield port, password
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _answers(port: int, password: str) -> bool:
    try:
        return bool(redis.Redis(port=port, password=password, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


async def test_a_password_in_the_url_authenticates(password_redis: tuple[int, str]) -> None:
    port, password = password_redis
    good = RedisPipe(f"redis://:{password}@127.0.0.1:{port}/0", 1.0)
    bad = RedisPipe(f"redis://:wrong@127.0.0.1:{port}/0", 1.0)
    none = RedisPipe(f"redis://127.0.0.1:{port}/0", 1.0)
    try:
        assert await good.call("PING") == "PONG"
        with pytest.raises(RedisPipeError, match=r"WRONGPASS|invalid"):
            await bad.call("PING")
        with pytest.raises(RedisReplyError, match="NOAUTH"):
            await none.call("PING")
    finally:
        for pipe in (good, bad, none):
            pipe.close()


async def test_the_limiter_survives_a_restart_and_a_script_flush(
    private_redis: PrivateRedis,
) -> None:
    limiter = RateLimiter(
        private_redis.url,
        namespace="drill",
        secret=SERVER_SECRET,
        rules=rules_from(parse_overrides("otp_send.ip=1/1h:2")),
    )
    try:
        await limiter.check("otp_send", ip="198.51.100.1")
        admin = redis.Redis.from_url(private_redis.url)
        admin.script_flush()  # as after a restart with persistence: the counts stay, scripts go
        admin.close()
        await limiter.check("otp_send", ip="198.51.100.1")
        with pytest.raises(RateLimitedError):
            await limiter.check("otp_send", ip="198.51.100.1")

        private_redis.stop()
        await limiter.check("otp_send", ip="198.51.100.2")  # down: fails open
        with pytest.raises(RateLimitedError):  # a refusal Redis made is remembered meanwhile
            await limiter.check("otp_send", ip="198.51.100.1")
        private_redis.start()  # empty again (no persistence)
        await asyncio.sleep(1.1)  # the back-off after a failure
        for _ in range(2):
            await limiter.check("otp_send", ip="198.51.100.2")
        with pytest.raises(RateLimitedError):  # enforced again, on a new connection
            await limiter.check("otp_send", ip="198.51.100.2")
    finally:
        await limiter.aclose()


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        RedisPipe("unix:///tmp/redis.sock", 1.0)
