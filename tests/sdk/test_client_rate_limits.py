"""A rate-limited call (429 with Retry-After) is retried after the wait, or raised typed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from authstack_sdk import errors
from tests.conftest import ApiServer, running_api
from tests.factories import Project
from tests.sdk.client_support import Face, make_app

# One API-key check per second per address, no burst beyond one.
LIMITS = "api_key_check.ip=1/1s:1"


@pytest.fixture(scope="module")
def limited_api(migrated_database: str) -> Iterator[ApiServer]:
    with running_api(
        migrated_database, STACK_RATE_LIMIT_ENABLED="true", STACK_RATE_LIMITS=LIMITS
    ) as server:
        yield server


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_rate_limited_call_is_sent_again_after_retry_after(
    kind: str, limited_api: ApiServer, sdk_project: Project
) -> None:
    async with Face(make_app(kind, limited_api.url, sdk_project)) as face:
        started = time.monotonic()
        for _ in range(3):
            assert await face.call("check_user_api_key", "sk_unknown") is None
        # The second and third checks each waited for the server's Retry-After.
        assert time.monotonic() - started >= 1.0


async def _check_three_times(face: Face) -> None:
    """Three checks at once: the bucket holds one, so (at least) the second is limited."""
    for _ in range(3):
        await face.call("check_user_api_key", "sk_unknown")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_without_retries_a_rate_limited_call_raises_with_the_wait(
    kind: str, limited_api: ApiServer, sdk_project: Project
) -> None:
    app = make_app(kind, limited_api.url, sdk_project, rate_limit_retries=0)
    async with Face(app) as face:
        with pytest.raises(errors.StackRateLimitError) as caught:
            await _check_three_times(face)
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 2
    assert isinstance(caught.value, errors.StackStatusError)
