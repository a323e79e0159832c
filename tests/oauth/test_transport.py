"""Requests to a project's own provider: to checked addresses only, answers bounded in size."""

from __future__ import annotations

import httpx2
import pytest

from authstack_core.oauth.http import MAX_RESPONSE_BYTES, get_json, public_only_transport
from authstack_core.outbound import OutboundAddressError

DISCOVERY = "/honest/.well-known/openid-configuration"


async def test_a_loopback_provider_is_refused_unless_private_networks_are_allowed(
    rogue: str,
) -> None:
    refused = httpx2.AsyncClient(transport=public_only_transport(allow_private=False))
    async with refused:
        with pytest.raises(OutboundAddressError):
            await get_json(refused, rogue + DISCOVERY)
        # A name is resolved and its addresses checked, not only literal addresses.
        with pytest.raises(OutboundAddressError):
            await get_json(refused, rogue.replace("127.0.0.1", "localhost") + DISCOVERY)
    allowed = httpx2.AsyncClient(transport=public_only_transport(allow_private=True))
    async with allowed:
        assert (await get_json(allowed, rogue + DISCOVERY))["issuer"] == rogue + "/honest"


async def test_an_answer_that_is_not_2xx_is_refused(rogue: str) -> None:
    async with httpx2.AsyncClient(transport=public_only_transport(allow_private=True)) as http:
        with pytest.raises(httpx2.HTTPStatusError):
            await get_json(http, rogue + "/no-such-mode/.well-known/openid-configuration")


async def test_an_answer_larger_than_the_cap_is_refused(rogue: str) -> None:
    async with httpx2.AsyncClient(transport=public_only_transport(allow_private=True)) as http:
        with pytest.raises(ValueError, match=str(MAX_RESPONSE_BYTES)):
            await get_json(http, rogue + "/large")
