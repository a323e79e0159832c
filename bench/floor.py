"""The floor: a bare ASGI callable doing the API's essential work with no framework around it.

Served by uvicorn with the API's own settings (1 worker, uvloop + httptools, no access log), with
the API's pool (authstack_core.db.pool.make_pool, same Settings and size) switched to autocommit:
the floor sends each statement alone, with no BEGIN/COMMIT round trips. It answers:

* ``POST /refresh``: form body; the REFRESH statement from authstack_core.db.queries.sessions
  (one pool checkout, one atomic statement) and one ES256 signature through TokenService. The
  project row is read once at start-up. This is the floor the token endpoint is compared with.
* ``POST /refresh-lookup``: the same plus the per-request project and key lookup that the API's
  token endpoint does (select_project_for_request in its own checkout, key-hash comparison). It
  splits the API's gap into "per-request project lookup" and "framework and everything else".
* ``GET /me``: project and key lookup, ES256 verify, user select (one checkout), client JSON.

Run: ``python bench/floor.py`` with FLOOR_PORT, FLOOR_PROJECT_ID and the API's STACK_* variables.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from psycopg_pool import AsyncConnectionPool

from authstack_core.analytics.service import Analytics
from authstack_core.crypto.tokens import TokenService
from authstack_core.db.pool import make_pool
from authstack_core.db.queries.projects import select_project_for_request
from authstack_core.db.queries.sessions import refresh
from authstack_core.db.queries.users import select_user
from authstack_core.domain.sessions import sign_for
from authstack_core.heap import settle_heap
from authstack_core.models.projects import ProjectRow
from authstack_core.serving import serve
from authstack_core.settings import Settings

JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]


class Floor:
    def __init__(self) -> None:
        self.settings = Settings.from_env()
        self.project_id = os.environ["FLOOR_PROJECT_ID"]
        self.tokens = TokenService(
            self.settings.server_secret,
            self.settings.api_url,
            self.settings.access_token_expiration,
        )
        self.pool: AsyncConnectionPool | None = None
        self.project: ProjectRow | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        if path == "/refresh":
            body = await self._refresh(await _read_body(receive), lookup=False)
        elif path == "/refresh-lookup":
            body = await self._refresh(await _read_body(receive), lookup=True)
        elif path == "/me":
            body = await self._me(scope["headers"])
        elif path == "/health":
            body = b'{"ok":true}'
        else:
            await _send(send, 404, b'{"error":"not found"}')
            return
        if body is None:
            await _send(send, 401, b'{"error":"unauthorized"}')
        else:
            await _send(send, 200, body)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = make_pool(self.settings)
                # The floor sends only what the work needs: each checkout runs its statement in
                # autocommit (REFRESH is one atomic statement), so no BEGIN/COMMIT round trips.
                self.pool.kwargs = {**self.pool.kwargs, "autocommit": True}
                await self.pool.open(wait=True, timeout=30)
                async with self.pool.connection() as conn:
                    self.project = await select_project_for_request(conn, self.project_id, "main")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _project(self, project_id: str, key: str) -> ProjectRow | None:
        assert self.pool is not None
        async with self.pool.connection() as conn:
            project = await select_project_for_request(conn, project_id, "main")
        if project is None or not _key_matches(key, project.publishable_client_key_hashes):
            return None
        return project

    async def _refresh(self, raw: bytes, *, lookup: bool) -> bytes | None:
        assert self.pool is not None
        assert self.project is not None
        form = dict(parse_qsl(raw.decode()))
        project: ProjectRow | None = self.project
        if lookup:
            project = await self._project(form["client_id"], form["client_secret"])
        if project is None or project.tenancy_id is None:
            return None
        token_hash = hashlib.sha256(form["refresh_token"].encode()).digest()
        async with self.pool.connection() as conn:
            claims = await refresh(conn, project.tenancy_id, token_hash, None)
        if claims is None:
            return None
        access_token = sign_for(_Deps(self.tokens), project, claims)
        return msgspec.json.encode({"access_token": access_token, "token_type": "Bearer"})

    async def _me(self, raw_headers: list[tuple[bytes, bytes]]) -> bytes | None:
        assert self.pool is not None
        headers = {k: v.decode() for k, v in raw_headers}
        token = headers.get(b"x-stack-access-token") or ""
        async with self.pool.connection() as conn:
            project = await select_project_for_request(
                conn, headers.get(b"x-stack-project-id") or "", "main"
            )
            if project is None or project.tenancy_id is None:
                return None
            key = headers.get(b"x-stack-publishable-client-key") or ""
            if not _key_matches(key, project.publishable_client_key_hashes):
                return None
            claims = self.tokens.verify_access_token(token)
            row = await select_user(conn, project.tenancy_id, claims.user_id)
        if row is None:
            return None
        return msgspec.json.encode(row.json("client", project.config))


class _Deps:
    """The attributes of Deps that sign_for reads (analytics off: the floor writes no events)."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.analytics = Analytics.disabled()


def _key_matches(given: str, stored: list[bytes]) -> bool:
    digest = hashlib.sha256(given.encode()).digest()
    matched = False
    for h in stored:
        matched |= hmac.compare_digest(digest, h)
    return matched


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> int:
    port = int(os.environ["FLOOR_PORT"])
    # The same garbage-collector settings as the API's (applied once start-up is done) and the
    # same uvicorn settings (loop/http "auto": uvloop + httptools).
    settle_heap()
    serve(Floor(), host="127.0.0.1", port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
