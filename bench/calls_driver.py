"""Run by bench/calls.py in one source tree: Python function calls per request, in process.

Counted by cProfile over ``CALLS_N`` requests of each kind, sent by Litestar's test client (no
network, no wrk) to the app as it is served (``create_asgi``: edge middleware, direct routes,
Litestar), so the edge's per-request work (its log line included) is counted too. The count does not depend on the machine's load, so two trees can be compared
on a noisy machine where requests per second cannot.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
from collections.abc import Awaitable, Callable

import httpx
from litestar.testing import AsyncTestClient

from authstack_api.app import create_asgi
from authstack_core.settings import Settings

Call = Callable[[], Awaitable[httpx.Response]]


async def calls_per_request(call: Call, n: int) -> int:
    for _ in range(50):  # warm: caches, prepared statements, the pool
        r = await call()
        assert r.status_code == 200, r.text
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        await call()
    profile.disable()
    return round(pstats.Stats(profile).total_calls / n)


async def main() -> None:
    project_id, key = os.environ["CALLS_PROJECT_ID"], os.environ["CALLS_CLIENT_KEY"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": os.environ["CALLS_REFRESH_TOKEN"],
        "client_id": project_id,
        "client_secret": key,
    }
    n = int(os.environ.get("CALLS_N", "300"))
    async with AsyncTestClient(app=create_asgi(Settings.from_env())) as client:
        first = await client.post("/api/v1/auth/oauth/token", data=form)
        assert first.status_code == 200, first.text
        headers = {
            "x-stack-access-type": "client",
            "x-stack-project-id": project_id,
            "x-stack-publishable-client-key": key,
            "x-stack-access-token": first.json()["access_token"],
        }
        loads: dict[str, Call] = {
            "health": lambda: client.get("/health"),
            "refresh": lambda: client.post("/api/v1/auth/oauth/token", data=form),
            "users/me": lambda: client.get("/api/v1/users/me", headers=headers),
        }
        print(json.dumps({name: await calls_per_request(c, n) for name, c in loads.items()}))


if __name__ == "__main__":
    asyncio.run(main())
