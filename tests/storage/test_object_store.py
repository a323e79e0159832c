"""ObjectStore against a real S3 server (SeaweedFS): what HTTP clients get back, and outages."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from authstack_core.settings import Settings
from authstack_core.storage import (
    PUBLIC_CACHE_CONTROL,
    ObjectStore,
    StorageUnavailableError,
    new_key,
)
from tests.conftest import settings_env

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def store_for(env: dict[str, str], **extra: str) -> ObjectStore:
    store = ObjectStore.from_settings(
        Settings(**settings_env("postgresql:///unused", **env, **extra))
    )  # type: ignore[arg-type]
    assert store is not None
    return store


@pytest.fixture
def store(s3_env: dict[str, str]) -> Iterator[ObjectStore]:
    store = store_for(s3_env)
    yield store
    store.close()


def test_no_endpoint_means_no_store() -> None:
    assert ObjectStore.from_settings(Settings(**settings_env("postgresql:///unused"))) is None  # type: ignore[arg-type]


async def test_public_object_is_served_with_its_bytes_type_and_cache_header(
    store: ObjectStore,
) -> None:
    key = new_key("images/test-project", "png")
    url = await store.put_public(key, PNG, "image/png")
    assert url == f"{store.endpoint}/{store.bucket}/{key}"
    async with httpx.AsyncClient() as client:
        response = await client.get(url)  # unsigned, as a browser's <img src>
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == PUBLIC_CACHE_CONTROL
    assert store.public_key_of(url) == key


async def test_replaced_image_is_gone_and_delete_is_idempotent(store: ObjectStore) -> None:
    old = await store.put_public(new_key("images/p", "png"), PNG, "image/png")
    new = await store.put_public(new_key("images/p", "webp"), b"RIFF....WEBP", "image/webp")
    old_key = store.public_key_of(old)
    assert old_key is not None
    await store.delete_public(old_key)
    await store.delete_public(old_key)  # a second delete (a retried sweep) succeeds
    async with httpx.AsyncClient() as client:
        assert (await client.get(old)).status_code == 404
        kept = await client.get(new)
    assert kept.status_code == 200
    assert kept.headers["content-type"] == "image/webp"


async def test_private_object_is_refused_unsigned_and_served_presigned_until_expiry(
    store: ObjectStore,
) -> None:
    key = new_key("replays/p", "bin")
    await store.put_private(key, b"rrweb chunk", "application/octet-stream")
    async with httpx.AsyncClient() as client:
        unsigned = await client.get(f"{store.endpoint}/{store.private_bucket}/{key}")
        assert unsigned.status_code == 403
        # The public bucket's anonymous read does not extend to listing it.
        assert (await client.get(f"{store.endpoint}/{store.bucket}")).status_code == 403
        url = await store.presigned_private_url(key, expires_s=1)
        fresh = await client.get(url)
        assert fresh.status_code == 200
        assert fresh.content == b"rrweb chunk"
        await anyio.sleep(2.2)
        assert (await client.get(url)).status_code == 403
    await store.delete_private(key)
    async with httpx.AsyncClient() as client:
        gone = await client.get(await store.presigned_private_url(key, expires_s=60))
    assert gone.status_code == 404


def test_public_urls_use_the_public_endpoint_and_recognise_only_our_keys(
    s3_env: dict[str, str],
) -> None:
    store = store_for(s3_env, STACK_S3_PUBLIC_ENDPOINT="https://cdn.example.com/files/")
    assert store.public_url("images/p/abc.png") == "https://cdn.example.com/files/images/p/abc.png"
    assert (
        store.public_key_of("https://cdn.example.com/files/images/p/abc.png") == "images/p/abc.png"
    )
    for other in (
        "https://cdn.example.com/other/images/p/abc.png",
        "https://cdn.example.com/files/",
        "https://cdn.example.com/files/images/../secret",
        "https://cdn.example.com/files/images/p/abc.png?x=1",
        "https://evil.example/https://cdn.example.com/files/a.png",
    ):
        assert store.public_key_of(other) is None, other


def test_keys_are_unguessable() -> None:
    keys = {new_key("images/p", "png") for _ in range(100)}
    assert len(keys) == 100
    body = next(iter(keys)).removeprefix("images/p/").removesuffix(".png")
    assert len(body) == 32


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


FAST_TIMEOUTS = {
    "STACK_S3_CONNECT_TIMEOUT_SECONDS": "1",
    "STACK_S3_READ_TIMEOUT_SECONDS": "1",
}


async def test_closed_port_raises_unavailable_quickly(s3_env: dict[str, str]) -> None:
    env = {**s3_env, "STACK_S3_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"}
    store = store_for(env, **FAST_TIMEOUTS)
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        await store.put_public(new_key("images/p", "png"), PNG, "image/png")
    assert time.monotonic() - started < 5
    assert s3_env["STACK_S3_SECRET_ACCESS_KEY"] not in str(caught.value)
    with pytest.raises(StorageUnavailableError, match="STACK_S3_ENDPOINT"):
        store.check()


async def test_server_that_never_answers_raises_unavailable_within_the_timeouts(
    s3_env: dict[str, str],
) -> None:
    """A hung server (accepts, never replies) costs the read timeout twice, not forever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = {**s3_env, "STACK_S3_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}"}
        store = store_for(env, **FAST_TIMEOUTS)
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError):
            await store.put_private("replays/p/x", b"x", "application/octet-stream")
        assert time.monotonic() - started < 8


async def test_stopped_server_raises_unavailable_and_other_calls_proceed(
    tmp_path: Any, s3_env: dict[str, str], store: ObjectStore
) -> None:
    from tests.storage_fixtures import start_seaweedfs  # noqa: PLC0415

    doomed = start_seaweedfs(tmp_path / "doomed")
    # A new server's first write waits for its volumes to be made: the default timeouts.
    await store_for(doomed.env()).put_public("images/p/before.png", PNG, "image/png")
    down = store_for(doomed.env(), **FAST_TIMEOUTS)
    doomed.stop()
    with pytest.raises(StorageUnavailableError):
        await down.put_public("images/p/after.png", PNG, "image/png")
    # The session's server, reached through its own store, is unaffected.
    url = await store.put_public(new_key("images/p", "png"), PNG, "image/png")
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 200
