"""Verification codes (contract §5.1): one-time codes behind links, OTPs and invitations.

A code is 45 lowercase Crockford base32 characters, stored only as its SHA-256. The last 39
characters are the *nonce*: an OTP e-mail shows the first 6 characters (upper case) while the API
hands the nonce to the client, which submits ``lower(otp) + nonce``. Attempts are counted per nonce.

Use ``create_code`` inside the transaction that causes it (e.g. with the outbox row of the e-mail
carrying it), and ``use_code`` (which runs your action in the same transaction that spends the
code) or ``check_code`` from the endpoint that receives it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, unquote_plus

from ada_url import parse_url, replace_url
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from authstack_core.crypto.codes import random_code, sha256_bytes
from authstack_core.db.queries import verification as q
from authstack_core.errors import (
    SchemaError,
    VerificationCodeAlreadyUsed,
    VerificationCodeExpired,
    VerificationCodeMaxAttemptsReached,
    VerificationCodeNotFound,
)
from authstack_core.models.verification import VerificationCodeRow

CODE_LENGTH = 45
OTP_LENGTH = 6
NONCE_LENGTH = CODE_LENGTH - OTP_LENGTH
MAX_ATTEMPTS_PER_CODE = 20
DEFAULT_LIFETIME = timedelta(days=7)  # e-mail verification, invitations; see settings for others
MFA_ATTEMPT_LIFETIME = timedelta(minutes=5)
# The endpoints that e-mail a code to an address answer no sooner than this whether or not an
# account has it, so that the time taken does not tell (the work itself takes a few
# milliseconds; the jitter covers what differs).
SEND_ANSWER_FLOOR_SECONDS = 0.4
SEND_ANSWER_JITTER_SECONDS = 0.1
T = TypeVar("T")


class CodeType:
    """The contract's verification-code types (the ``type`` column)."""

    ONE_TIME_PASSWORD = "ONE_TIME_PASSWORD"
    PASSWORD_RESET = "PASSWORD_RESET"
    CONTACT_CHANNEL_VERIFICATION = "CONTACT_CHANNEL_VERIFICATION"
    TEAM_INVITATION = "TEAM_INVITATION"
    MFA_ATTEMPT = "MFA_ATTEMPT"
    PASSKEY_REGISTRATION_CHALLENGE = "PASSKEY_REGISTRATION_CHALLENGE"
    PASSKEY_AUTHENTICATION_CHALLENGE = "PASSKEY_AUTHENTICATION_CHALLENGE"


def otp_of(code: str) -> str:
    """What an e-mail shows: the first six characters, upper case."""
    return code[:OTP_LENGTH].upper()


@asynccontextmanager
async def answering_no_sooner() -> AsyncIterator[None]:
    """Hold the answer until ``SEND_ANSWER_FLOOR_SECONDS`` (plus jitter) have passed since entry,
    however the block ends."""
    started = time.monotonic()
    try:
        yield
    finally:
        floor = SEND_ANSWER_FLOOR_SECONDS + random.uniform(0, SEND_ANSWER_JITTER_SECONDS)  # noqa: S311
        await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))


def nonce_of(code: str) -> str:
    """What the API returns to the client that asked for an OTP."""
    return code[OTP_LENGTH:]


def link_with_code(callback_url: str, code: str) -> str:
    """``callback_url`` with ``code=<code>`` set in its query; other parameters keep their text.

    ``callback_url`` is the browser serialisation that ``redirects.require_trusted_redirect``
    returned; it is edited with the same (WHATWG) parser, so the host cannot change on the way.
    """
    search = parse_url(callback_url, attributes=("search",))["search"]
    pairs = [
        pair
        for pair in search.removeprefix("?").split("&")
        if pair and unquote_plus(pair.partition("=")[0]) != "code"
    ]
    pairs.append("code=" + quote(code, safe=""))
    return replace_url(callback_url, search="&".join(pairs))


def normalize_code(raw: str) -> str:
    """Lower-case a submitted code; SCHEMA_ERROR unless it has a code's 45 characters.

    Which characters they are is not checked: one no code has is simply not found
    (VERIFICATION_CODE_NOT_FOUND), as upstream answers it.
    """
    code = raw.strip().lower()
    if len(code) != CODE_LENGTH:
        raise SchemaError(message=f"code must be exactly {CODE_LENGTH} characters")
    return code


async def create_code(
    conn: AsyncConnection[Any],
    *,
    project_id: str,
    branch_id: str = "main",
    type: str,
    data: dict[str, Any],
    method: dict[str, Any] | None = None,
    expires_in: timedelta = DEFAULT_LIFETIME,
    redirect_url: str | None = None,
) -> str:
    """Store a new code (hashed) in the caller's transaction and return its plaintext.

    ``redirect_url`` must already have passed ``redirects.is_trusted_redirect``.
    """
    code = random_code(CODE_LENGTH)
    await q.insert_code(
        conn,
        project_id=project_id,
        branch_id=branch_id,
        code_id=uuid.uuid4(),
        type=type,
        code_hash=sha256_bytes(code),
        nonce_hash=sha256_bytes(nonce_of(code)),
        expires_at=datetime.now(UTC) + expires_in,
        redirect_url=redirect_url,
        method=method or {},
        data=data,
    )
    return code


async def _count_attempt(
    pool: AsyncConnectionPool, project_id: str, branch_id: str, code: str
) -> None:
    # Committed on its own, before the check: a failed guess must count even though the
    # transaction that would have used the code rolls back.
    async with pool.connection() as conn, conn.transaction():
        await q.count_attempt(conn, project_id, branch_id, sha256_bytes(nonce_of(code)))


async def _valid_row(
    conn: AsyncConnection[Any],
    project_id: str,
    branch_id: str,
    type: str,
    code: str,
    max_attempts: int = MAX_ATTEMPTS_PER_CODE,
) -> VerificationCodeRow:
    row = await q.select_code(
        conn, project_id, branch_id, type, sha256_bytes(code), for_update=True
    )
    if row is None:
        raise VerificationCodeNotFound()
    if row.expires_at <= datetime.now(UTC):
        raise VerificationCodeExpired()
    if row.used_at is not None:
        raise VerificationCodeAlreadyUsed()
    # The count already includes this attempt; the cap applies to the attempts before it.
    if row.attempt_count > max_attempts:
        raise VerificationCodeMaxAttemptsReached()
    return row


async def check_code(
    pool: AsyncConnectionPool,
    *,
    project_id: str,
    branch_id: str = "main",
    type: str,
    code: str,
) -> VerificationCodeRow:
    """Validate without using the code (the ``check-code`` endpoints); counts as an attempt.

    Raise SCHEMA_ERROR for a malformed code, then VERIFICATION_CODE_NOT_FOUND / _EXPIRED /
    _ALREADY_USED / _MAX_ATTEMPTS_REACHED, in that order.
    """
    normalized = normalize_code(code)
    await _count_attempt(pool, project_id, branch_id, normalized)
    async with pool.connection() as conn, conn.transaction():
        return await _valid_row(conn, project_id, branch_id, type, normalized)


async def use_code(
    pool: AsyncConnectionPool,
    *,
    project_id: str,
    branch_id: str = "main",
    type: str,
    code: str,
    then: Callable[[AsyncConnection[Any], VerificationCodeRow], Awaitable[T]],
    max_attempts: int = MAX_ATTEMPTS_PER_CODE,
) -> T:
    """Validate the code, mark it used and run ``then`` in one transaction; return its result.

    Same errors as ``check_code``. If ``then`` raises, the code stays unused but the attempt
    still counts, so a caller whose ``then`` rejects a second secret (an MFA attempt code and
    its TOTP) can cap those guesses with a ``max_attempts`` below the default.
    """
    normalized = normalize_code(code)
    await _count_attempt(pool, project_id, branch_id, normalized)
    async with pool.connection() as conn, conn.transaction():
        row = await _valid_row(conn, project_id, branch_id, type, normalized, max_attempts)
        await q.mark_used(conn, project_id, branch_id, row.id)
        return await then(conn, row)


async def list_live_codes(
    conn: AsyncConnection[Any],
    *,
    project_id: str,
    branch_id: str = "main",
    type: str,
    data_filter: dict[str, Any],
) -> list[VerificationCodeRow]:
    """Unused, unexpired codes of a type whose data contains ``data_filter`` (JSON containment)."""
    return await q.select_live_codes(conn, project_id, branch_id, type, data_filter)


async def revoke_code(
    conn: AsyncConnection[Any],
    *,
    project_id: str,
    branch_id: str = "main",
    type: str,
    code_id: uuid.UUID,
) -> bool:
    """Delete a code by id; False when no such code of that type exists in the project."""
    return await q.delete_code(conn, project_id, branch_id, type, code_id)


async def expire_password_reset_codes(
    conn: AsyncConnection[Any], *, project_id: str, branch_id: str = "main", user_id: str
) -> int:
    """Expire every live PASSWORD_RESET code of the user, in the caller's transaction.

    Called when a newer code is issued, when a reset completes and whenever the password changes,
    so that an older link lying in a mailbox can no longer set the password. Returns how many.
    """
    return await q.expire_live_codes_of_user(
        conn, project_id, branch_id, CodeType.PASSWORD_RESET, str(user_id)
    )
