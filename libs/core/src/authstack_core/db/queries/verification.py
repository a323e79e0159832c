"""Verification-code SQL. Codes are found by the SHA-256 of the code, never by plaintext."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_one
from authstack_core.models.verification import VerificationCodeRow

_SELECT_CODES = """
SELECT id, type, expires_at, used_at, redirect_url, method, data, attempt_count, created_at
FROM verification_codes
"""

INSERT_CODE = """
INSERT INTO verification_codes (project_id, branch_id, id, type, code_hash, nonce_hash,
                                expires_at, redirect_url, method, data)
VALUES (%(project_id)s, %(branch_id)s, %(id)s, %(type)s, %(code_hash)s, %(nonce_hash)s,
        %(expires_at)s, %(redirect_url)s, %(method)s, %(data)s)
"""


async def insert_code(
    conn: AsyncConnection[Any],
    *,
    project_id: str,
    branch_id: str,
    code_id: uuid.UUID,
    type: str,
    code_hash: bytes,
    nonce_hash: bytes,
    expires_at: datetime,
    redirect_url: str | None,
    method: dict[str, Any],
    data: dict[str, Any],
) -> None:
    await conn.execute(
        INSERT_CODE,
        {
            "project_id": project_id,
            "branch_id": branch_id,
            "id": code_id,
            "type": type,
            "code_hash": code_hash,
            "nonce_hash": nonce_hash,
            "expires_at": expires_at,
            "redirect_url": redirect_url,
            "method": Jsonb(method),
            "data": Jsonb(data),
        },
    )


SELECT_CODE = (
    _SELECT_CODES
    + """WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s
  AND code_hash = %(code_hash)s AND type = %(type)s
"""
)
SELECT_CODE_FOR_UPDATE = SELECT_CODE + "FOR UPDATE\n"


async def select_code(
    conn: AsyncConnection[Any],
    project_id: str,
    branch_id: str,
    type: str,
    code_hash: bytes,
    *,
    for_update: bool,
) -> VerificationCodeRow | None:
    """The code by its hash; ``for_update`` locks its row until the caller's transaction ends."""
    return await fetch_one(
        conn,
        VerificationCodeRow,
        SELECT_CODE_FOR_UPDATE if for_update else SELECT_CODE,
        project_id=project_id,
        branch_id=branch_id,
        type=type,
        code_hash=code_hash,
    )


# Every guess counts against all codes that share the 39-character tail, so guessing an OTP's
# six visible characters is capped per nonce, not per code.
COUNT_ATTEMPT = """
UPDATE verification_codes SET attempt_count = attempt_count + 1
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND nonce_hash = %(nonce_hash)s
"""


async def count_attempt(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, nonce_hash: bytes
) -> None:
    await conn.execute(
        COUNT_ATTEMPT,
        {"project_id": project_id, "branch_id": branch_id, "nonce_hash": nonce_hash},
    )


MARK_USED = """
UPDATE verification_codes SET used_at = now()
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND id = %(id)s
"""


async def mark_used(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, code_id: uuid.UUID
) -> None:
    await conn.execute(MARK_USED, {"project_id": project_id, "branch_id": branch_id, "id": code_id})


SELECT_LIVE_CODES = (
    _SELECT_CODES
    + """WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND type = %(type)s
  AND used_at IS NULL AND expires_at > now() AND data @> %(data_filter)s
ORDER BY created_at, id
"""
)


async def select_live_codes(
    conn: AsyncConnection[Any],
    project_id: str,
    branch_id: str,
    type: str,
    data_filter: dict[str, Any],
) -> list[VerificationCodeRow]:
    return await fetch_all(
        conn,
        VerificationCodeRow,
        SELECT_LIVE_CODES,
        project_id=project_id,
        branch_id=branch_id,
        type=type,
        data_filter=Jsonb(data_filter),
    )


DELETE_CODE = """
DELETE FROM verification_codes
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND type = %(type)s AND id = %(id)s
"""


async def delete_code(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, type: str, code_id: uuid.UUID
) -> bool:
    return await changed(
        conn, DELETE_CODE, project_id=project_id, branch_id=branch_id, type=type, id=code_id
    )


# A superseded code is expired rather than marked used: whoever holds it is told it expired (and
# to ask for a new one), which is what happened. The partial index of migration 0006 serves the
# user-id lookup without walking the project's other codes.
EXPIRE_LIVE_CODES_OF_USER = """
UPDATE verification_codes SET expires_at = now()
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND type = %(type)s
  AND used_at IS NULL AND data->>'user_id' = %(user_id)s AND expires_at > now()
"""


async def expire_live_codes_of_user(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, type: str, user_id: str
) -> int:
    cur = await conn.execute(
        EXPIRE_LIVE_CODES_OF_USER,
        {"project_id": project_id, "branch_id": branch_id, "type": type, "user_id": user_id},
    )
    return cur.rowcount
