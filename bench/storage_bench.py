"""Storage benchmark: profile image upload latency and session replay batch ingestion.

    uv run python bench/storage_bench.py [--uploads 100] [--batches 300] [--clients 8]

Everything is real and on loopback: a fresh database migrated and seeded (bench/run.py's
``prepare``), SeaweedFS started by scripts/dev_s3.py in a temporary folder (data on disk, signed
requests), and the API (one uvicorn worker). Prints figures; asserts nothing.

1. Image upload: ``PATCH /users/me`` with a ~200 KB JPEG data URL, sequential, after a warm-up;
   each request decodes and re-encodes the image (Pillow), puts it in the public bucket and
   deletes the previous one. p50 / p95 / max.
2. Replay ingestion: ``POST /session-replays/batch`` with 50 rrweb-like events per batch, from
   one client and from several at once (each its own user); batches/s and MB/s of request body.
   The API runs with rate limits off: this measures the work, not the per-user limit.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image

# The bench shares the tests' factories (tests/factories.py): put the checkout's root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import Project, create_project, fresh_database, load_script

from benchdata import add_session_users, service_env
from email_bench import percentile
from knobs import ADMIN_URL, ME_PATH
from procstats import machine_info
from run import obtain_access_tokens, prepare
from wrkload import log, print_table, start_api

EVENTS_PER_BATCH = 50
WARM_UP = 10


def jpeg_data_url(target_bytes: int = 200_000) -> str:
    """A photo-like (noisy) JPEG of about ``target_bytes``, as a data URL."""
    rng = random.Random(16)
    side = 200
    while True:
        noise = bytes(rng.getrandbits(8) for _ in range(side * side * 3))
        image = Image.frombytes("RGB", (side, side), noise)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        if buffer.tell() >= target_bytes:
            return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        side += 20


def client_headers(project: Project, access_token: str) -> dict[str, str]:
    return project.headers("client", **{"x-stack-access-token": access_token})


def measure_uploads(api_url: str, project: Project, token: str, count: int) -> tuple[str, ...]:
    body = json.dumps({"profile_image_url": jpeg_data_url()}).encode()
    headers = {**client_headers(project, token), "content-type": "application/json"}
    timings: list[float] = []
    with httpx.Client(base_url=api_url, timeout=60) as http:
        for i in range(WARM_UP + count):
            started = time.perf_counter()
            r = http.patch(ME_PATH, headers=headers, content=body)
            elapsed = time.perf_counter() - started
            if r.status_code != 200:
                raise RuntimeError(f"PATCH {ME_PATH}: {r.status_code} {r.text[:300]}")
            if i >= WARM_UP:
                timings.append(elapsed * 1000)
    image_kb = len(body) * 3 / 4 / 1000
    return (
        f"PATCH /users/me, JPEG ~{image_kb:.0f} KB, {count} sequential",
        f"{statistics.median(timings):.1f}",
        f"{percentile(timings, 95):.1f}",
        f"{max(timings):.1f}",
    )


def rrweb_events(rng: random.Random, at_ms: int) -> list[dict[str, object]]:
    """Incremental snapshots as rrweb records them: mouse moves, scrolls, DOM mutations."""
    events: list[dict[str, object]] = []
    for i in range(EVENTS_PER_BATCH):
        ts = at_ms + i * 40
        kind = rng.random()
        if kind < 0.5:
            positions = [
                {"x": rng.randrange(1280), "y": rng.randrange(900), "id": rng.randrange(400),
                 "timeOffset": -j * 10}
                for j in range(rng.randrange(3, 12))
            ]  # fmt: skip
            data: dict[str, object] = {"source": 1, "positions": positions}
        elif kind < 0.7:
            data = {"source": 3, "id": rng.randrange(400), "x": 0, "y": rng.randrange(4000)}
        else:
            adds = [
                {"parentId": rng.randrange(400), "nextId": None,
                 "node": {"type": 2, "tagName": "div", "attributes": {"class": "row item"},
                          "childNodes": [], "id": rng.randrange(400, 10_000)}}
                for _ in range(rng.randrange(1, 6))
            ]  # fmt: skip
            texts = [{"id": rng.randrange(400), "value": secrets.token_urlsafe(24)}]
            data = {"source": 0, "adds": adds, "removes": [], "texts": texts, "attributes": []}
        events.append({"type": 3, "timestamp": ts, "data": data})
    return events


def replay_worker(
    api_url: str, project: Project, token: str, count: int, sizes: list[int], errors: list[str]
) -> None:
    rng = random.Random(token)
    browser_session, segment = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {**client_headers(project, token), "content-type": "application/json"}
    with httpx.Client(base_url=api_url, timeout=60) as http:
        for _ in range(count):
            now = int(time.time() * 1000)
            body = json.dumps(
                {"browser_session_id": browser_session, "session_replay_segment_id": segment,
                 "batch_id": str(uuid.uuid4()), "started_at_ms": now - 60_000, "sent_at_ms": now,
                 "events": rrweb_events(rng, now - 2_000)}
            ).encode()  # fmt: skip
            r = http.post("/api/v1/session-replays/batch", headers=headers, content=body)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:300]}")
                return
            sizes.append(len(body))


def measure_replays(
    api_url: str, project: Project, tokens: list[str], batches: int
) -> tuple[str, ...]:
    sizes: list[int] = []
    errors: list[str] = []
    per_client = max(1, batches // len(tokens))
    # A short warm-up per client (connections, first replay row) outside the timing.
    for token in tokens:
        replay_worker(api_url, project, token, 2, [], errors)
    threads = [
        threading.Thread(
            target=replay_worker, args=(api_url, project, t, per_client, sizes, errors)
        )
        for t in tokens
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"replay batch failed: {errors[0]}")
    return (
        f"{len(tokens)} client(s), {len(sizes)} batches of {EVENTS_PER_BATCH} events",
        f"{len(sizes) / elapsed:.1f}",
        f"{sum(sizes) / elapsed / 1e6:.2f}",
        f"{statistics.mean(sizes) / 1000:.1f}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print_table("Machine", ("what", "value"), machine_info())
    dev_s3 = load_script("dev_s3")
    with tempfile.TemporaryDirectory(prefix="authstack-storage-bench-") as tmp:
        work = Path(tmp)
        s3 = dev_s3.start(
            work / "s3",
            access_key_id="AK" + secrets.token_hex(9).upper(),
            secret_access_key=secrets.token_urlsafe(30),
        )
        try:
            with fresh_database("authstack_bench", ADMIN_URL) as database_url:
                env = {**service_env(database_url), **s3.env(), "STACK_RATE_LIMIT_ENABLED": "false"}
                project, _, data = prepare(database_url, env, work, big_users=0)
                replays = create_project(
                    database_url, {"apps.installed.analytics.enabled": True}, name="Replays"
                )
                _, replay_refresh = add_session_users(database_url, replays, args.clients)
                api = start_api("api", env, work)
                try:
                    [token] = obtain_access_tokens(api, project, data["refresh_tokens"][:1])
                    log(f"{WARM_UP} warm-up + {args.uploads} image uploads")
                    upload = measure_uploads(api.url, project, token, args.uploads)
                    print_table("Image upload (ms)", ("what", "p50", "p95", "max"), [upload])
                    tokens = obtain_access_tokens(api, replays, replay_refresh)
                    log(f"{args.batches} replay batches, 1 and {args.clients} clients")
                    rows = [
                        measure_replays(api.url, replays, tokens[:1], args.batches),
                        measure_replays(api.url, replays, tokens, args.batches),
                    ]
                    print_table(
                        "Replay batch ingestion",
                        ("what", "batches/s", "MB/s", "KB/batch"),
                        rows,
                    )
                finally:
                    api.stop()
        finally:
            s3.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
