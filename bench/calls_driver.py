"""Run by bench/calls.py in one source tree: Python function calls per request, in process.

Counted by cProfile over ``CALLS_N`` requests of each kind, sent through httpx's ASGI transport
(no network, no wrk) to the app as it is served (``create_asgi``: edge middleware, direct
routes, Litestar), so the edge's per-request work is counted too. The profiler is on only while
the app handles a request, in the app's own thread (cProfile sees one thread: a test client that
runs the app in a thread of its own would count the client instead). The count does not depend
on the machine's load, so two trees can be compared on a noisy machine where requests per second
cannot.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from authstack_api.app import create_asgi
from authstack_core.settings import Settings

Call = Callable[[], Awaitable[httpx.Response]]


class Counted:
    """The app, with ``profile`` (when set) enabled while it handles an HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.profile: cProfile.Profile | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        profile = self.profile if scope["type"] == "http" else None
        if profile is None:
            await self.app(scope, receive, send)
            return
        profile.enable()
        try:
            await self.app(scope, receive, send)
        finally:
            profile.disable()


async def calls_per_request(app: Counted, call: Call, n: int) -> int:
    for _ in range(50):  # warm: caches, prepared statements, the pool
        r = await call()
        assert r.status_code == 200, r.text
    app.profile = cProfile.Profile()
    for _ in range(n):
        await call()
    total = pstats.Stats(app.profile).total_calls
    app.profile = None
    return round(total / n)


class Lifespan:
    """The app's ASGI lifespan, driven by hand (httpx's ASGI transport sends none)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, step: str) -> None:
        await self.inbox.put({"type": f"lifespan.{step}"})
        done = await self.outbox.get()
        assert done["type"] == f"lifespan.{step}.complete", done

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self._send("startup")

    async def __aexit__(self, *_: object) -> None:
        await self._send("shutdown")
        assert self.task is not None
        await self.task


async def main() -> None:
    project_id, key = os.environ["CALLS_PROJECT_ID"], os.environ["CALLS_CLIENT_KEY"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": os.environ["CALLS_REFRESH_TOKEN"],
        "client_id": project_id,
        "client_secret": key,
    }
    n = int(os.environ.get("CALLS_N", "300"))
    app = Counted(create_asgi(Settings.from_env()))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://api.test") as client,
    ):
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
        counts = {name: await calls_per_request(app, c, n) for name, c in loads.items()}
    print(json.dumps(counts))


if __name__ == "__main__":
    asyncio.run(main())
