"""Access-token verifications per second per core with the Python SDK (warm JWKS cache).

Starts an API on a fresh database, signs a user up, fetches the project's keys once through
``AccessTokenVerifier``, then verifies that user's real token in a loop on one thread: the sync
entry point, the async one, and twenty users' tokens in turn (nothing is cached per token, but
this shows it). Per core = verifications / CPU seconds of this process. Prints the
figures; asserts nothing (goal: at least 5,000/s per core).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.conftest import settings_env, start_api, stop_api
from tests.factories import create_project, free_port, fresh_database

from authstack_core.settings import Settings
from authstack_migrator.runner import migrate
from authstack_migrator.seed import seed
from authstack_sdk import AccessTokenVerifier

SECONDS = float(os.environ.get("BENCH_SDK_SECONDS", "3"))
ROUNDS = 3
GOAL = 5_000


def rate(run: Callable[[int], None], batch: int = 500) -> tuple[float, float]:
    """(verifications per wall second, per CPU second) over SECONDS, best of ROUNDS."""
    best_wall = best_cpu = 0.0
    for _ in range(ROUNDS):
        done = 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall0 < SECONDS:
            run(batch)
            done += batch
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        best_wall, best_cpu = max(best_wall, done / wall), max(best_cpu, done / max(cpu, 1e-9))
    return best_wall, best_cpu


def sign_up_tokens(api_url: str, headers: dict[str, str], count: int) -> list[str]:
    tokens = []
    with httpx.Client(base_url=api_url, timeout=30) as http:
        for i in range(count):
            r = http.post(
                "/api/v1/auth/password/sign-up",
                headers=headers,
                json={"email": f"bench-{i}-{time.time_ns()}@example.com", "password": "x" * 12},
            )
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
    return tokens


def main() -> None:
    with fresh_database("authstack_bench_sdk") as database_url:
        migrate(database_url)
        seed(Settings(**settings_env(database_url)))  # type: ignore[arg-type]
        port = free_port()
        api = start_api(
            database_url,
            port=port,
            NEXT_PUBLIC_STACK_API_URL=f"http://127.0.0.1:{port}",
            STACK_RATE_LIMIT_ENABLED="false",
        )
        try:
            project = create_project(database_url)
            tokens = sign_up_tokens(api.url, project.headers(), 20)
            verifier = AccessTokenVerifier(api.url, project.id)
            token = tokens[0]
            verifier.verify_access_token(token)  # the one JWKS fetch: the cache is warm from here
        finally:
            stop_api(api)  # nothing below talks to the API: a fetch would now fail loudly

    def sync_one(n: int) -> None:
        for _ in range(n):
            verifier.verify_access_token(token)

    def sync_many(n: int) -> None:
        for i in range(n):
            verifier.verify_access_token(tokens[i % len(tokens)])

    loop = asyncio.new_event_loop()

    async def async_batch(n: int) -> None:
        for _ in range(n):
            await verifier.verify_access_token_async(token)

    def async_one(n: int) -> None:
        loop.run_until_complete(async_batch(n))

    print(f"\nPython SDK token verification, warm JWKS cache, one thread, best of {ROUNDS}:")
    print(f"  {'entry point':<44} {'verif./s (wall)':>16} {'verif./s per core':>18}")
    per_core = []
    for label, run in (
        ("verify_access_token, one token", sync_one),
        (f"verify_access_token, {len(tokens)} users' tokens in turn", sync_many),
        ("verify_access_token_async, one token", async_one),
    ):
        wall, cpu = rate(run)
        per_core.append(cpu)
        print(f"  {label:<44} {wall:>16,.0f} {cpu:>18,.0f}")
    loop.close()
    verdict = "meets" if min(per_core) >= GOAL else "MISSES"
    print(f"  lowest per core: {min(per_core):,.0f}/s ({verdict} the goal of {GOAL:,}/s)")


if __name__ == "__main__":
    main()
