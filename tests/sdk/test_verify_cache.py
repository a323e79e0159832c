"""The verifier's JWKS cache against a live API behind a counting proxy: one fetch for many
concurrent verifications (threads, tasks, several event loops), one refresh per interval on an
unknown ``kid``, and a real key rotation picked up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from authstack_sdk import AccessTokenClaims, AccessTokenVerifier, InvalidTokenError
from tests.conftest import ApiServer, start_api, stop_api
from tests.factories import Project
from tests.sdk.verify_support import (
    ROTATED_SECRET,
    CountingProxy,
    counting_proxy,
    issuing_api,
    sign_up,
)

__all__ = ["issuing_api"]  # the module's fixture, imported

CONCURRENCY = 100
SLOW_NETWORK_S = 0.3  # each proxied request takes this long, so that callers pile up behind it


@pytest.fixture
def proxy(issuing_api: ApiServer) -> Iterator[CountingProxy]:
    with counting_proxy(issuing_api.url, delay=SLOW_NETWORK_S) as running:
        yield running


def _verifier(
    proxy: CountingProxy, api: ApiServer, project: Project, **options: Any
) -> AccessTokenVerifier:
    # Keys through the proxy; issuer named by the API's public URL, as behind a real proxy.
    return AccessTokenVerifier(proxy.url, project.id, issuer_base_url=api.url, **options)


def _in_threads(count: int, call: Callable[[], Any]) -> list[Any]:
    """``call`` in ``count`` threads released together; results or raised exceptions."""
    barrier = threading.Barrier(count)

    def run() -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def _unknown_kid_token(api: ApiServer, project: Project) -> str:
    """Well-formed for the project, signed by a key the server never published."""
    now = int(time.time())
    payload = {
        "sub": "00000000-0000-4000-8000-000000000000",
        "project_id": project.id,
        "branch_id": "main",
        "iss": f"{api.url}/api/v1/projects/{project.id}",
        "aud": project.id,
        "iat": now,
        "exp": now + 600,
    }
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": "never-issued"})


def test_concurrent_threads_share_one_jwks_fetch(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    user = sign_up(issuing_api, project)
    verifier = _verifier(proxy, issuing_api, project)
    results = _in_threads(CONCURRENCY, lambda: verifier.verify_access_token(user.access_token))
    assert all(isinstance(r, AccessTokenClaims) for r in results), results
    assert {r.user_id for r in results} == {user.user_id}
    assert proxy.jwks_fetches() == 1
    for _ in range(500):  # warm: no I/O at all
        verifier.verify_access_token(user.access_token)
    assert proxy.jwks_fetches() == 1


async def test_concurrent_tasks_share_one_jwks_fetch(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    user = sign_up(issuing_api, project)
    verifier = _verifier(proxy, issuing_api, project)
    results = await asyncio.gather(
        *(verifier.verify_access_token_async(user.access_token) for _ in range(CONCURRENCY))
    )
    assert {r.user_id for r in results} == {user.user_id}
    assert proxy.jwks_fetches() == 1


def test_threads_and_several_event_loops_share_one_fetch(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    """Half the callers are plain threads, half are tasks spread over five event loops (each
    in its own thread): whoever starts the fetch, the others wait for it."""
    user = sign_up(issuing_api, project)
    verifier = _verifier(proxy, issuing_api, project)

    async def tasks() -> list[AccessTokenClaims]:
        return await asyncio.gather(
            *(verifier.verify_access_token_async(user.access_token) for _ in range(10))
        )

    def call(index: int) -> Any:
        if index < 5:
            return asyncio.run(tasks())
        return [verifier.verify_access_token(user.access_token)]

    counter = iter(range(55))
    lock = threading.Lock()

    def next_call() -> Any:
        with lock:
            index = next(counter)
        return call(index)

    results = _in_threads(55, next_call)
    assert all(isinstance(r, list) for r in results), results
    claims = [c for batch in results for c in batch]
    assert len(claims) == 100
    assert {c.user_id for c in claims} == {user.user_id}
    assert proxy.jwks_fetches() == 1


def test_unknown_kid_refreshes_at_most_once_per_interval(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    user = sign_up(issuing_api, project)
    interval = 2.0
    verifier = _verifier(proxy, issuing_api, project, min_refresh_interval=interval)
    verifier.verify_access_token(user.access_token)
    assert proxy.jwks_fetches() == 1
    # Keys fetched just now: the interval forbids a refetch, unknown kids are refused at once.
    forged = _unknown_kid_token(issuing_api, project)
    results = _in_threads(CONCURRENCY, lambda: verifier.verify_access_token(forged))
    assert all(isinstance(r, InvalidTokenError) for r in results), results
    assert proxy.jwks_fetches() == 1
    # Once the interval has passed, a burst of unknown kids causes exactly one refresh.
    time.sleep(interval)
    results = _in_threads(CONCURRENCY, lambda: verifier.verify_access_token(forged))
    assert all(isinstance(r, InvalidTokenError) for r in results), results
    assert "key id" in str(results[0])
    assert proxy.jwks_fetches() == 2
    results = _in_threads(CONCURRENCY, lambda: verifier.verify_access_token(forged))
    assert proxy.jwks_fetches() == 2
    # Known keys keep working throughout.
    assert verifier.verify_access_token(user.access_token).user_id == user.user_id


async def test_unknown_kid_burst_of_tasks_refreshes_once(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    verifier = _verifier(proxy, issuing_api, project, min_refresh_interval=0.5)
    user = sign_up(issuing_api, project)
    await verifier.verify_access_token_async(user.access_token)
    await asyncio.sleep(0.5)
    forged = _unknown_kid_token(issuing_api, project)
    results = await asyncio.gather(
        *(verifier.verify_access_token_async(forged) for _ in range(CONCURRENCY)),
        return_exceptions=True,
    )
    assert all(isinstance(r, InvalidTokenError) for r in results), results
    assert proxy.jwks_fetches() == 2


def test_a_rotated_server_key_is_picked_up_by_one_refresh(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    """The operator changes STACK_SERVER_SECRET: a second API on the same database with the new
    secret takes over behind the proxy. Its tokens carry a new ``kid``; the verifier refreshes
    once, accepts them, and refuses tokens of the old keys."""
    before = sign_up(issuing_api, project)
    verifier = _verifier(proxy, issuing_api, project, min_refresh_interval=0.0)
    verifier.verify_access_token(before.access_token)
    assert proxy.jwks_fetches() == 1
    rotated = start_api(
        issuing_api.database_url,
        STACK_SERVER_SECRET=ROTATED_SECRET,
        NEXT_PUBLIC_STACK_API_URL=issuing_api.url,
        STACK_RATE_LIMIT_ENABLED="false",
        STACK_DB_POOL_MAX_SIZE="4",
    )
    try:
        proxy.upstream = rotated.url
        after = sign_up(rotated, project)
        results = _in_threads(CONCURRENCY, lambda: verifier.verify_access_token(after.access_token))
        assert all(isinstance(r, AccessTokenClaims) for r in results), results
        assert proxy.jwks_fetches() == 2
        with pytest.raises(InvalidTokenError):
            verifier.verify_access_token(before.access_token)
    finally:
        stop_api(rotated)


def test_keys_older_than_max_age_are_refetched_once(
    issuing_api: ApiServer, project: Project, proxy: CountingProxy
) -> None:
    user = sign_up(issuing_api, project)
    verifier = _verifier(proxy, issuing_api, project, max_key_age=1.0, min_refresh_interval=0.0)
    verifier.verify_access_token(user.access_token)
    time.sleep(1.1)
    # One caller refetches; the others keep using the keys they have instead of waiting.
    results = _in_threads(20, lambda: verifier.verify_access_token(user.access_token))
    assert all(isinstance(r, AccessTokenClaims) for r in results), results
    assert proxy.jwks_fetches() == 2
