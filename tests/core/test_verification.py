"""Verification codes against the real schema: hashing, order of checks, attempts, use-once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from psycopg_pool import AsyncConnectionPool

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.domain import mfa
from authstack_core.domain import verification as v
from authstack_core.errors import (
    SchemaError,
    VerificationCodeAlreadyUsed,
    VerificationCodeExpired,
    VerificationCodeMaxAttemptsReached,
    VerificationCodeNotFound,
)
from tests.conftest import Project
from tests.factories import query_rows

T = v.CodeType.PASSWORD_RESET


@pytest.fixture
async def pool(migrated_database: str) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(migrated_database, min_size=1, max_size=4) as p:
        yield p


async def _create(pool: AsyncConnectionPool, project: Project, **kw: Any) -> str:
    async with pool.connection() as conn, conn.transaction():
        return await v.create_code(
            conn, project_id=project.id, type=kw.pop("type", T), data={"user": "u1"}, **kw
        )


async def _noop(_conn: Any, row: Any) -> Any:
    return row


async def test_code_is_45_crockford_chars_and_stored_only_as_hash(
    pool: AsyncConnectionPool, project: Project, migrated_database: str
) -> None:
    code = await _create(pool, project, redirect_url="http://localhost:3000/cb")
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{45}", code)
    rows = query_rows(
        migrated_database,
        "SELECT code_hash, nonce_hash, redirect_url FROM verification_codes WHERE project_id = %s",
        (project.id,),
    )
    assert rows == [(sha256_bytes(code), sha256_bytes(code[6:]), "http://localhost:3000/cb")]
    dump = str(rows)
    assert code not in dump


async def test_use_code_runs_action_once_then_already_used(
    pool: AsyncConnectionPool, project: Project
) -> None:
    code = await _create(pool, project)
    row = await v.use_code(pool, project_id=project.id, type=T, code=code.upper(), then=_noop)
    assert row.data == {"user": "u1"}
    with pytest.raises(VerificationCodeAlreadyUsed):
        await v.use_code(pool, project_id=project.id, type=T, code=code, then=_noop)


async def test_failed_action_leaves_code_unused(
    pool: AsyncConnectionPool, project: Project
) -> None:
    code = await _create(pool, project)

    async def fail(_conn: Any, _row: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await v.use_code(pool, project_id=project.id, type=T, code=code, then=fail)
    await v.use_code(pool, project_id=project.id, type=T, code=code, then=_noop)


async def test_check_does_not_use_the_code(pool: AsyncConnectionPool, project: Project) -> None:
    code = await _create(pool, project)
    await v.check_code(pool, project_id=project.id, type=T, code=code)
    await v.check_code(pool, project_id=project.id, type=T, code=code)
    await v.use_code(pool, project_id=project.id, type=T, code=code, then=_noop)


async def test_unknown_wrong_type_and_other_project_are_not_found(
    pool: AsyncConnectionPool, project: Project, make_project: Any
) -> None:
    code = await _create(pool, project)
    other = make_project()
    with pytest.raises(VerificationCodeNotFound):
        await v.check_code(pool, project_id=project.id, type=T, code="0" * 45)
    with pytest.raises(VerificationCodeNotFound):
        await v.check_code(pool, project_id=project.id, type=v.CodeType.TEAM_INVITATION, code=code)
    with pytest.raises(VerificationCodeNotFound):
        await v.check_code(pool, project_id=other.id, type=T, code=code)


async def test_malformed_code_is_a_schema_error(
    pool: AsyncConnectionPool, project: Project
) -> None:
    for bad in ("short", "0" * 46):
        with pytest.raises(SchemaError):
            await v.check_code(pool, project_id=project.id, type=T, code=bad)


async def test_a_code_of_the_right_length_is_looked_up_whatever_its_characters(
    pool: AsyncConnectionPool, project: Project
) -> None:
    """As upstream: only the length is part of the schema; "u" is no Crockford digit, yet such a
    code is simply not found."""
    with pytest.raises(VerificationCodeNotFound):
        await v.check_code(pool, project_id=project.id, type=T, code="u" * 45)


async def test_expired_code(pool: AsyncConnectionPool, project: Project) -> None:
    code = await _create(pool, project, expires_in=timedelta(seconds=-1))
    with pytest.raises(VerificationCodeExpired):
        await v.use_code(pool, project_id=project.id, type=T, code=code, then=_noop)


async def test_wrong_otp_guesses_share_the_nonce_cap(
    pool: AsyncConnectionPool, project: Project
) -> None:
    """Twenty wrong OTPs for one nonce lock out the right OTP for that nonce as well."""
    code = await _create(pool, project, type=v.CodeType.ONE_TIME_PASSWORD)
    nonce = v.nonce_of(code)
    wrong = "000000" if not code.startswith("000000") else "111111"
    for _ in range(v.MAX_ATTEMPTS_PER_CODE):
        with pytest.raises(VerificationCodeNotFound):
            await v.check_code(
                pool, project_id=project.id, type=v.CodeType.ONE_TIME_PASSWORD, code=wrong + nonce
            )
    with pytest.raises(VerificationCodeMaxAttemptsReached):
        await v.use_code(
            pool,
            project_id=project.id,
            type=v.CodeType.ONE_TIME_PASSWORD,
            code=v.otp_of(code).lower() + nonce,
            then=_noop,
        )


async def test_nineteen_wrong_guesses_still_allow_the_right_one(
    pool: AsyncConnectionPool, project: Project
) -> None:
    code = await _create(pool, project, type=v.CodeType.ONE_TIME_PASSWORD)
    wrong = ("000000" if not code.startswith("000000") else "111111") + v.nonce_of(code)
    for _ in range(v.MAX_ATTEMPTS_PER_CODE - 1):
        with pytest.raises(VerificationCodeNotFound):
            await v.check_code(
                pool, project_id=project.id, type=v.CodeType.ONE_TIME_PASSWORD, code=wrong
            )
    await v.use_code(
        pool, project_id=project.id, type=v.CodeType.ONE_TIME_PASSWORD, code=code, then=_noop
    )


async def test_list_and_revoke_live_codes(pool: AsyncConnectionPool, project: Project) -> None:
    async with pool.connection() as conn, conn.transaction():
        keep = await v.create_code(
            conn, project_id=project.id, type=v.CodeType.TEAM_INVITATION, data={"team_id": "t1"}
        )
        await v.create_code(
            conn, project_id=project.id, type=v.CodeType.TEAM_INVITATION, data={"team_id": "t2"}
        )
    async with pool.connection() as conn:
        rows = await v.list_live_codes(
            conn,
            project_id=project.id,
            type=v.CodeType.TEAM_INVITATION,
            data_filter={"team_id": "t1"},
        )
        assert [r.data for r in rows] == [{"team_id": "t1"}]
        assert await v.revoke_code(
            conn, project_id=project.id, type=v.CodeType.TEAM_INVITATION, code_id=rows[0].id
        )
        await conn.commit()
    with pytest.raises(VerificationCodeNotFound):
        await v.check_code(pool, project_id=project.id, type=v.CodeType.TEAM_INVITATION, code=keep)


def test_link_keeps_other_parameters_and_replaces_code() -> None:
    link = v.link_with_code("https://app.example.com/handler/reset?x=1&code=old", "abc")
    assert link == "https://app.example.com/handler/reset?x=1&code=abc"


async def test_reading_an_attempt_codes_owner_takes_no_row_lock(
    pool: AsyncConnectionPool, project: Project
) -> None:
    """mfa.attempt_owner only reads (for the rate limit's key): it must not wait for, or take,
    the row lock that spending the code takes."""
    async with pool.connection() as conn, conn.transaction():
        code = await v.create_code(
            conn, project_id=project.id, type=v.CodeType.MFA_ATTEMPT, data={"user_id": "u1"}
        )
    deps = cast(Any, SimpleNamespace(pool=pool))
    async with pool.connection() as holder, holder.transaction():
        await holder.execute(
            "SELECT 1 FROM verification_codes WHERE code_hash = %s FOR UPDATE",
            (sha256_bytes(code),),
        )
        owner = await asyncio.wait_for(mfa.attempt_owner(deps, cast(Any, project), code), 5)
    assert owner == "u1"
