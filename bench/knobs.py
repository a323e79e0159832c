"""The bench's settings (``BENCH_*`` and ``AUTHSTACK_BENCH_*`` variables) and fixed figures."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
LUA_DIR = BENCH_DIR / "lua"
ADMIN_URL = os.environ.get(
    "AUTHSTACK_BENCH_POSTGRES",
    os.environ.get("AUTHSTACK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 2.0
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "16"))
# Production's default level is info: the API writes one JSON line per request (to a file here).
API_LOG_LEVEL = os.environ.get("BENCH_API_LOG_LEVEL", "info")
THROUGHPUT_CONNECTIONS = 16
SIGN_IN_CONNECTIONS = 8
STORM_ME_CONNECTIONS = 2
SESSIONS = 200
ACCESS_TOKENS = 50
BIG_PROJECT_USERS = 100_000
PASSWORD = "bench-password-123"
SERVER_SECRET = "YmVuY2gtc2VydmVyLXNlY3JldC1mb3ItYXV0aHN0YWNrLWJlbmNo"
SEED_KEYS = {
    "STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": "pck_bench_internal_0123456789abcdef",
    "STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY": "ssk_bench_internal_0123456789abcdef",
    "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY": "sak_bench_internal_0123456789abcdef",
}
TOKEN_PATH = "/api/v1/auth/oauth/token"
ME_PATH = "/api/v1/users/me"
SIGN_IN_PATH = "/api/v1/auth/password/sign-in"
REDIS_URL = os.environ.get(
    "AUTHSTACK_BENCH_REDIS", os.environ.get("AUTHSTACK_TEST_REDIS", "redis://127.0.0.1:6379/0")
)
# This run's Redis keys (rate-limit counts, email wake-ups); deleted at the end.
NAMESPACE = f"authstack_bench_{secrets.token_hex(4)}"
# The address the throttled floods come from (the wrk scripts send X-Forwarded-For).
FLOOD_IP = "203.0.113.66"
