"""TOTP multi-factor sign-in (contract §1.2, §4, §5.1).

A first factor (password, email OTP / magic link) for a user who has a TOTP secret does not issue
a session: it answers MULTI_FACTOR_AUTHENTICATION_REQUIRED with an *attempt code* (a verification
code of type MFA_ATTEMPT, living 5 minutes), and ``POST /auth/mfa/sign-in`` exchanges that code
plus a current TOTP for the session. The attempt code is single-use; each MFA sign-in call counts
one attempt on it, and after ``MAX_TOTP_GUESSES`` wrong TOTPs it is dead (the contract's generic
cap of 20 is far too generous for guessing six digits). A TOTP is accepted for the current
30-second step and one step either side; the step that signed in is recorded on the user, so
that code (and any of an earlier step) never signs in again.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyotp
from psycopg import AsyncConnection

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.db.queries import mfa as q
from authstack_core.db.queries import verification as verification_q
from authstack_core.domain import totp_secrets, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import IssuedSession, SignIn, create_session_in
from authstack_core.domain.verification import MFA_ATTEMPT_LIFETIME, CodeType
from authstack_core.errors import (
    InvalidTotpCode,
    KnownError,
    MultiFactorAuthenticationRequired,
    SchemaError,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.verification import VerificationCodeRow

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# Codes of the previous and the next step pass too: phone clocks drift and people type slowly.
TOTP_WINDOW_STEPS = 1
# Wrong TOTPs one attempt code survives; the next call gets VERIFICATION_CODE_MAX_ATTEMPTS_REACHED
# and the user must pass the first factor again. Five guesses at a 3-in-a-million chance each.
MAX_TOTP_GUESSES = 5
# RFC 4226 §4 requires at least 128 bits of shared secret; HMAC-SHA1 hashes keys longer than its
# 64-byte block first, so more buys nothing. The SDK generates 20 bytes.
MIN_SECRET_BYTES = 16
MAX_SECRET_BYTES = 64


def parse_totp_secret(secret_base64: str | None) -> bytes | None:
    """The raw secret of ``totp_secret_base64`` (None turns MFA off); SCHEMA_ERROR if unusable."""
    if secret_base64 is None:
        return None
    try:
        raw = base64.b64decode(secret_base64, validate=True)
    except (binascii.Error, ValueError):
        raise SchemaError(message="totp_secret_base64 must be base64") from None
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise SchemaError(
            message=f"totp_secret_base64 must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} "
            "bytes (a 20-byte random secret is usual)"
        )
    return raw


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """A first factor passed, but the user has TOTP: no session yet, only this attempt code."""

    attempt_code: str

    def error(self) -> KnownError:
        return MultiFactorAuthenticationRequired(attempt_code=self.attempt_code)


async def session_or_mfa_in(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    user_id: str | uuid.UUID,
    *,
    first_factor: str,
    is_new_user: bool = False,
) -> IssuedSession | MfaRequired:
    """After a first factor, inside the caller's transaction: a session, or an attempt code.

    The caller raises ``MfaRequired.error()`` only after its transaction commits, so that the
    attempt code (and the first factor's own side effects, such as a spent OTP) are kept.
    """
    if await q.select_totp_secret(conn, project.tenancy_id, user_id) is None:
        return await create_session_in(conn, deps, project, user_id)
    code = await verification.create_code(
        conn,
        project_id=project.id,
        type=CodeType.MFA_ATTEMPT,
        data={"user_id": str(user_id), "is_new_user": is_new_user, "first_factor": first_factor},
        expires_in=MFA_ATTEMPT_LIFETIME,
    )
    return MfaRequired(code)


def matching_step(secret: bytes, totp: str, at: float) -> int | None:
    """The time step within the window whose code is ``totp`` (the latest, if several); or None.

    Every candidate is compared (in constant time), so the answer's timing does not tell which
    step matched.
    """
    try:
        generator = pyotp.TOTP(
            base64.b32encode(secret).decode("ascii"),
            digits=TOTP_DIGITS,
            interval=TOTP_STEP_SECONDS,
        )
    except ValueError:  # a secret stored before lengths were checked: it can verify nothing
        return None
    current = generator.timecode(at)
    found = None
    for offset in range(-TOTP_WINDOW_STEPS, TOTP_WINDOW_STEPS + 1):
        if hmac.compare_digest(generator.at(at, counter_offset=offset), totp):
            found = current + offset
    return found


async def attempt_owner(deps: Deps, project: TenantProject, code: str) -> str | None:
    """The user an attempt code belongs to, or None for a code that is malformed or unknown.

    Read without counting an attempt, so that the API can rate-limit TOTP guesses per user
    across all of that user's attempt codes (one code allows only MAX_TOTP_GUESSES, but a caller
    who knows the password can fetch new codes).
    """
    try:
        normalized = verification.normalize_code(code)
    except KnownError:
        return None
    async with deps.pool.connection() as conn:
        row = await verification_q.select_code(
            conn,
            project.id,
            "main",
            CodeType.MFA_ATTEMPT,
            sha256_bytes(normalized),
            for_update=False,  # a read for the rate limit's key; nothing is written here
        )
    return str(row.data["user_id"]) if row is not None else None


async def sign_in(deps: Deps, project: TenantProject, *, code: str, totp: str) -> SignIn:
    """Spend the attempt code and a TOTP step, and issue the session, in one transaction.

    Raise the verification-code errors for the attempt code (VERIFICATION_CODE_MAX_ATTEMPTS_REACHED
    after MAX_TOTP_GUESSES wrong TOTPs), and INVALID_TOTP_CODE for a wrong TOTP, one of an already
    used step, or a user whose TOTP was turned off meanwhile; the attempt code then stays unused.
    """
    tenancy_id = project.tenancy_id
    now = time.time()

    async def complete(conn: AsyncConnection[Any], row: VerificationCodeRow) -> SignIn:
        user_id = str(row.data["user_id"])
        stored = await q.select_totp_secret(conn, tenancy_id, user_id)
        if stored is None:
            raise InvalidTotpCode()
        secret = totp_secrets.open_stored(deps.settings, tenancy_id, user_id, stored)
        step = None if secret is None else matching_step(secret, totp, now)
        if step is None or not await q.spend_totp_step(conn, tenancy_id, user_id, stored, step):
            raise InvalidTotpCode()
        if secret is not None and not totp_secrets.is_sealed(stored):
            sealed = totp_secrets.seal(deps.settings, tenancy_id, user_id, secret)
            await q.replace_totp_secret(conn, tenancy_id, user_id, stored, sealed)
        session = await create_session_in(conn, deps, project, user_id)
        return SignIn(session, bool(row.data.get("is_new_user", False)))

    return await verification.use_code(
        deps.pool,
        project_id=project.id,
        type=CodeType.MFA_ATTEMPT,
        code=code,
        then=complete,
        max_attempts=MAX_TOTP_GUESSES,
    )
