"""The bench's data: the services' environment, users with sessions, a project of 100,000."""

from __future__ import annotations

import uuid

import psycopg
from tests.factories import Project, query_row

from authstack_core.crypto.codes import new_refresh_token, sha256_bytes
from authstack_core.crypto.passwords import hash_password_sync
from authstack_core.db.queries.users import SEARCH_CAP, SELECT_SEARCH_HITS
from knobs import (
    API_LOG_LEVEL,
    NAMESPACE,
    PASSWORD,
    POOL_SIZE,
    REDIS_URL,
    SEED_KEYS,
    SERVER_SECRET,
)


def service_env(database_url: str) -> dict[str, str]:
    return {
        "STACK_DATABASE_CONNECTION_STRING": database_url,
        "STACK_SERVER_SECRET": SERVER_SECRET,
        "NEXT_PUBLIC_STACK_API_URL": "http://localhost:8102",
        "STACK_SEED_INTERNAL_PROJECT_USER_EMAIL": "admin@example.com",
        "STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD": "admin-password-123",
        "STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS": "true",
        "STACK_SEED_INTERNAL_PROJECT_ALLOW_LOCALHOST": "true",
        "STACK_LOG_FORMAT": "json",
        "STACK_LOG_LEVEL": API_LOG_LEVEL,
        "STACK_DB_POOL_MIN_SIZE": str(POOL_SIZE),
        "STACK_DB_POOL_MAX_SIZE": str(POOL_SIZE),
        "STACK_REDIS_URL": REDIS_URL,
        "STACK_QUEUE_NAMESPACE": NAMESPACE,
        # wrk plays a proxy: each session's requests carry their own client address (the
        # default per-IP limits would otherwise see one client doing everything).
        "STACK_TRUSTED_PROXY_NETWORKS": "127.0.0.1/32",
        # No analytics unless a bench asks (analytics_bench.py): the default embedded folder
        # belongs to one process, and the bench runs several APIs side by side.
        "STACK_CLICKHOUSE_URL": "disabled",
        **SEED_KEYS,
    }


def add_session_users(
    database_url: str, project: Project, count: int
) -> tuple[list[str], list[str]]:
    """``count`` password users, each with one live session; returns (emails, refresh tokens).

    Their password hash is in the current format: a plain bcrypt hash would be upgraded at each
    user's first sign-in (a second bcrypt run), and the sign-in bench would measure that."""
    password_hash = hash_password_sync(PASSWORD)
    emails = [f"bench{i}@example.com" for i in range(count)]
    tokens = [new_refresh_token() for _ in range(count)]
    users = [uuid.uuid4() for _ in range(count)]
    t = project.tenancy_id
    with psycopg.connect(database_url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO users (tenancy_id, id, display_name) VALUES (%s, %s, %s)",
            [(t, u, f"Bench {i}") for i, u in enumerate(users)],
        )
        cur.executemany(
            "INSERT INTO contact_channels (tenancy_id, id, user_id, value, is_primary, "
            "is_verified, used_for_auth) VALUES (%s, %s, %s, %s, true, true, true)",
            [(t, uuid.uuid4(), u, e) for u, e in zip(users, emails, strict=True)],
        )
        cur.executemany(
            "INSERT INTO password_auth_methods (tenancy_id, user_id, password_hash) "
            "VALUES (%s, %s, %s)",
            [(t, u, password_hash) for u in users],
        )
        cur.executemany(
            "INSERT INTO refresh_tokens (tenancy_id, id, user_id, token_hash, expires_at) "
            "VALUES (%s, %s, %s, %s, now() + interval '1 day')",
            [(t, uuid.uuid4(), u, sha256_bytes(k)) for u, k in zip(users, tokens, strict=True)],
        )
    return emails, tokens


def add_many_users(database_url: str, project: Project, count: int) -> None:
    """``count`` users signed up one second apart, each with a primary email
    user<i>@bench.example.com and display name "Bench User <i>", in two INSERT ... SELECTs."""
    params = {"t": project.tenancy_id, "n": count}
    user_id = "('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid"
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            conn.execute(
                "INSERT INTO users (tenancy_id, id, display_name, signed_up_at, last_active_at) "
                f"SELECT %(t)s, {user_id}, 'Bench User ' || i, "
                "now() - (%(n)s - i) * interval '1 second', "
                "now() - (%(n)s - i) * interval '1 second' "
                "FROM generate_series(1, %(n)s) AS i",
                params,
            )
            conn.execute(
                "INSERT INTO contact_channels (tenancy_id, id, user_id, value, is_primary, "
                "is_verified, used_for_auth) "
                f"SELECT %(t)s, gen_random_uuid(), {user_id}, "
                "'user' || i || '@bench.example.com', true, true, true "
                "FROM generate_series(1, %(n)s) AS i",
                params,
            )
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE users")
        conn.execute("VACUUM ANALYZE contact_channels")


def user_at(database_url: str, project: Project, offset: int) -> str:
    row = query_row(
        database_url,
        "SELECT id::text FROM users WHERE tenancy_id = %s ORDER BY signed_up_at, id "
        "OFFSET %s LIMIT 1",
        (project.tenancy_id, offset),
    )
    if row is None:
        raise RuntimeError("the big project has fewer users than expected")
    return str(row[0])


def explain_search(database_url: str, project: Project, query: str) -> list[str]:
    """EXPLAIN ANALYZE of the search's first phase (SELECT_SEARCH_HITS: matching user ids)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params = {
        "tenancy_id": uuid.UUID(project.tenancy_id),
        "pattern": f"%{escaped}%",
        "query_uuid": None,
        "cap": SEARCH_CAP + 1,
    }
    statement = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + SELECT_SEARCH_HITS
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(statement, params).fetchall()  # type: ignore[call-overload]
    return [str(r[0]) for r in rows]
