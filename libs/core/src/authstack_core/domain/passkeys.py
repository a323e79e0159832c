"""Passkey registration and sign-in (contract §1.2, §5.1, §6).

Each ceremony is two calls. The first issues WebAuthn options and keeps their challenge in a
verification code (PASSKEY_REGISTRATION_CHALLENGE with the user's id, or
PASSKEY_AUTHENTICATION_CHALLENGE) that lives 65 s; the second spends that code and checks the
browser's answer against the challenge (``passkey_ceremonies``). A code whose ceremony failed is
spent too: a challenge answers one ceremony, right or wrong, and the SDK asks for a new one each
time. A user has at most one passkey (registering again replaces it), and ``passkey_auth_enabled``
says whether it has one. A passkey sign-in of a user with TOTP answers
MULTI_FACTOR_AUTHENTICATION_REQUIRED, as every first factor does (see ``mfa``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.db.queries import passkeys as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import mfa, passkey_ceremonies, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import SignIn
from authstack_core.domain.verification import CodeType
from authstack_core.errors import (
    PasskeyAuthenticationFailed,
    PasskeyAuthenticationNotEnabled,
    PasskeyRegistrationFailed,
    UserNotFound,
    VerificationCodeNotFound,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.verification import VerificationCodeRow

# The ceremony's timeout and five seconds more for the round trip, as upstream.
CHALLENGE_LIFETIME = timedelta(milliseconds=passkey_ceremonies.CEREMONY_TIMEOUT_MS + 5000)
# What a passkey is called for a user with neither a display name nor an email.
FALLBACK_USER_NAME = "Stack Auth User"


def _require_passkeys(project: TenantProject) -> None:
    if not project.config.passkey_sign_in:
        raise PasskeyAuthenticationNotEnabled()


async def initiate_registration(deps: Deps, project: TenantProject, user_id: str) -> dict[str, Any]:
    """``{options_json, code}`` for the signed-in user's new passkey."""
    _require_passkeys(project)
    async with deps.pool.connection() as conn, conn.transaction():
        user = await users_q.select_user(conn, project.tenancy_id, user_id)
        if user is None:  # deleted while its access token lives on
            raise UserNotFound()
        options = passkey_ceremonies.registration_options(
            rp_name=project.display_name or project.id,
            user_id=user.id,
            user_name=user.display_name or user.primary_email or FALLBACK_USER_NAME,
        )
        code = await verification.create_code(
            conn,
            project_id=project.id,
            type=CodeType.PASSKEY_REGISTRATION_CHALLENGE,
            data={"challenge": options.challenge, "user_id": user.id},
            expires_in=CHALLENGE_LIFETIME,
        )
    return {"options_json": options.json, "code": code}


async def register(
    deps: Deps, project: TenantProject, user_id: str, *, credential: dict[str, Any], code: str
) -> str:
    """Verify the registration response and store the user's passkey; return its user handle.

    Raise PASSKEY_AUTHENTICATION_NOT_ENABLED, the verification-code errors (a code issued to
    another user is not this user's to spend: VERIFICATION_CODE_NOT_FOUND, and it stays unused),
    then PASSKEY_REGISTRATION_FAILED (the code is spent) for a response that is malformed, from an
    origin the project does not trust, for another challenge or RP ID, that does not verify, or
    whose credential is already another user's.
    """
    _require_passkeys(project)
    tenancy_id = project.tenancy_id

    async def store(
        conn: AsyncConnection[Any], row: VerificationCodeRow
    ) -> str | PasskeyRegistrationFailed:
        if row.data.get("user_id") != user_id:
            raise VerificationCodeNotFound()
        try:
            new = passkey_ceremonies.verify_registration(
                project.config, credential, str(row.data["challenge"])
            )
        except PasskeyRegistrationFailed as failure:
            return failure
        existing = await q.select_by_credential(conn, tenancy_id, new.credential_id)
        if existing is not None and existing.user_id != user_id:
            # The authenticator picks the credential id, so a client can send any: never let one
            # take over (or shadow) another user's passkey.
            return PasskeyRegistrationFailed(message="This passkey cannot be registered.")
        # As upstream, the user handle stored and returned is the credential id.
        await q.upsert_passkey(
            conn,
            tenancy_id,
            user_id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            user_handle=new.credential_id,
            transports=new.transports,
            counter=new.counter,
        )
        return new.credential_id

    try:
        outcome = await verification.use_code(
            deps.pool,
            project_id=project.id,
            type=CodeType.PASSKEY_REGISTRATION_CHALLENGE,
            code=code,
            then=store,
        )
    except UniqueViolation:  # another user registered the same credential id meanwhile
        raise PasskeyRegistrationFailed(message="This passkey cannot be registered.") from None
    if isinstance(outcome, PasskeyRegistrationFailed):
        raise outcome
    return outcome


async def initiate_authentication(deps: Deps, project: TenantProject) -> dict[str, Any]:
    """``{options_json, code}`` for a passkey sign-in."""
    _require_passkeys(project)
    options = passkey_ceremonies.authentication_options()
    async with deps.pool.connection() as conn, conn.transaction():
        code = await verification.create_code(
            conn,
            project_id=project.id,
            type=CodeType.PASSKEY_AUTHENTICATION_CHALLENGE,
            data={"challenge": options.challenge},
            expires_in=CHALLENGE_LIFETIME,
        )
    return {"options_json": options.json, "code": code}


async def sign_in(
    deps: Deps, project: TenantProject, *, authentication_response: dict[str, Any], code: str
) -> SignIn:
    """Verify the assertion against the project's passkey with its credential id; sign its user in.

    Raise PASSKEY_AUTHENTICATION_NOT_ENABLED, the verification-code errors, then (the code spent)
    PASSKEY_AUTHENTICATION_FAILED for a response that is malformed, from an untrusted origin,
    names no passkey of this project, was made by another user's authenticator, does not verify,
    or whose signature counter did not grow; MULTI_FACTOR_AUTHENTICATION_REQUIRED for a user with
    TOTP.
    """
    _require_passkeys(project)

    async def check(
        conn: AsyncConnection[Any], row: VerificationCodeRow
    ) -> SignIn | mfa.MfaRequired | PasskeyAuthenticationFailed:
        try:
            user_id = await _verified_owner(
                conn, project, authentication_response, str(row.data["challenge"])
            )
        except PasskeyAuthenticationFailed as failure:
            return failure
        result = await mfa.session_or_mfa_in(conn, deps, project, user_id, first_factor="passkey")
        return result if isinstance(result, mfa.MfaRequired) else SignIn(result, is_new_user=False)

    outcome = await verification.use_code(
        deps.pool,
        project_id=project.id,
        type=CodeType.PASSKEY_AUTHENTICATION_CHALLENGE,
        code=code,
        then=check,
    )
    if isinstance(outcome, mfa.MfaRequired):
        raise outcome.error()
    if isinstance(outcome, PasskeyAuthenticationFailed):
        raise outcome
    return outcome


async def _verified_owner(
    conn: AsyncConnection[Any],
    project: TenantProject,
    authentication_response: dict[str, Any],
    challenge: str,
) -> str:
    """The user whose passkey made this assertion, its counter recorded; or
    PASSKEY_AUTHENTICATION_FAILED."""
    tenancy_id = project.tenancy_id
    assertion = passkey_ceremonies.read_assertion(
        project.config, authentication_response, challenge
    )
    passkey = await q.select_by_credential(conn, tenancy_id, assertion.credential_id)
    # The handle an authenticator keeps with a credential is the user id it was created for
    # (registration_options): one naming someone else is not this passkey either.
    if passkey is None or (
        assertion.user_handle is not None and assertion.user_handle != passkey.user_id.encode()
    ):
        raise PasskeyAuthenticationFailed(message="This passkey is not registered.")
    new_counter = passkey_ceremonies.verify_assertion(
        assertion, public_key=passkey.public_key, counter=passkey.counter
    )
    if not await q.advance_counter(conn, tenancy_id, passkey, new_counter):  # a racing replay
        raise PasskeyAuthenticationFailed(message="The passkey could not be verified.")
    return passkey.user_id


async def remove_in(conn: AsyncConnection[Any], project: TenantProject, user_id: str) -> None:
    """Remove the user's passkey, if any, in the caller's transaction (``passkey_auth_enabled:
    false`` in a user PATCH, as upstream)."""
    await q.delete_passkey(conn, project.tenancy_id, user_id)
