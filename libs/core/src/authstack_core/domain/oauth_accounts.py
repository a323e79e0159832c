"""Who an OAuth sign-in is: the linked account's user, a user merged by email, an upgraded
anonymous user or a new user; and the provider's tokens kept for that account, sealed.

Called inside the callback's transaction (``oauth_flow``), after the provider has said who signed
in. The merge rule (``auth.oauth.accountMergeStrategy``):

- ``link_method`` (default): an account whose sign-in email equals the provider's gets the
  provider linked, but only when the provider says the email is verified *and* the account's
  email is verified. Otherwise CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE: an
  unverified account is never taken over, and an unverified provider email takes over nothing.
- ``raise_error``: that error whenever the email already signs someone in.
- ``allow_duplicates``: a new user whose copy of the email does not sign in.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.crypto.sealing import Sealer, sealer_for
from authstack_core.db.queries import oauth as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import sign_up_rules, users
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    ContactChannelAlreadyUsedForAuthBySomeoneElse,
    OAuthConnectionAlreadyConnectedToAnotherUser,
    SignUpNotEnabled,
    UserNotFound,
)
from authstack_core.models.oauth import (
    FlowType,
    OuterInfoRow,
    ProviderProfile,
    ProviderTokens,
    merge_strategy,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.sign_up_rules import SignUpContext, SignUpOutcome
from authstack_core.models.users import NewUser
from authstack_core.settings import Settings

_SEAL_PURPOSE = "oauth-provider-token"


@dataclass(frozen=True, slots=True)
class OAuthUser:
    """The user an OAuth sign-in ends as."""

    user_id: str
    is_new_user: bool


def token_sealer(settings: Settings) -> Sealer:
    return sealer_for(settings.server_secret, _SEAL_PURPOSE)


def token_context(tenancy_id: uuid.UUID, token_id: uuid.UUID) -> bytes:
    """What a sealed provider token is bound to: its own row (a copy elsewhere does not open)."""
    return f"{tenancy_id}:{token_id}".encode()


async def store_token_in(
    conn: AsyncConnection[Any],
    settings: Settings,
    tenancy_id: uuid.UUID,
    oauth_account_id: uuid.UUID,
    kind: Literal["access", "refresh"],
    value: str,
    *,
    scopes: Sequence[str],
    expires_at: datetime | None,
) -> None:
    """Keep one provider token of the account, sealed to its own new row."""
    token_id = uuid.uuid4()
    await q.insert_provider_token(
        conn,
        tenancy_id,
        token_id,
        oauth_account_id,
        kind=kind,
        token_sealed=token_sealer(settings).seal(
            value.encode(), token_context(tenancy_id, token_id)
        ),
        scopes=list(scopes),
        expires_at=expires_at,
    )


async def _store_tokens(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    oauth_account_id: uuid.UUID,
    tokens: ProviderTokens | None,
) -> None:
    if tokens is None:  # a native sign-in: the app holds the provider's tokens
        return
    args = (conn, deps.settings, project.tenancy_id, oauth_account_id)
    await store_token_in(
        *args,
        "access",
        tokens.access_token,
        scopes=tokens.scopes,
        expires_at=tokens.access_token_expires_at,
    )
    if tokens.refresh_token is not None:
        await store_token_in(
            *args, "refresh", tokens.refresh_token, scopes=tokens.scopes, expires_at=None
        )


async def _link(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    provider_id: str,
    user_id: str,
    profile: ProviderProfile,
    tokens: ProviderTokens | None,
) -> None:
    account_id = await q.upsert_account(
        conn, project.tenancy_id, user_id, provider_id, profile.account_id, profile.email
    )
    await _store_tokens(conn, deps, project, account_id, tokens)


def _admit_sign_up(
    project: TenantProject, rules: sign_up_rules.Gate, provider_id: str, profile: ProviderProfile
) -> SignUpOutcome:
    """Whether this OAuth sign-up may create (or upgrade into) a user: the one place an OAuth
    sign-up is decided, before any user is created or an anonymous user upgraded. Raise
    SIGN_UP_NOT_ENABLED, or SIGN_UP_REJECTED when the sign-up rules (``auth.signUpRules``, with
    the provider's email and method "oauth") refuse it; the outcome says whether to restrict."""
    if not project.config.allow_sign_up:
        raise SignUpNotEnabled()
    return rules.admit(
        SignUpContext.of(email=profile.email, auth_method="oauth", oauth_provider=provider_id)
    )


async def _anonymous_user(
    conn: AsyncConnection[Any], project: TenantProject, user_id: uuid.UUID | None
) -> str | None:
    """The signed-in user of the flow if it is anonymous (an OAuth sign-up upgrades it)."""
    if user_id is None:
        return None
    row = await users_q.select_user(conn, project.tenancy_id, str(user_id))
    return row.id if row is not None and row.is_anonymous else None


async def _merge_target(
    conn: AsyncConnection[Any], project: TenantProject, profile: ProviderProfile
) -> tuple[str | None, bool]:
    """(the user to link by email, whether the new user's email may sign in); see the module doc."""
    if profile.email is None:
        return None, True
    owner = await users_q.select_auth_email_owner(conn, project.tenancy_id, profile.email)
    if owner is None:
        return None, True
    strategy = merge_strategy(project.config)
    if strategy == "allow_duplicates":
        return None, False
    if strategy == "link_method" and owner.is_verified and profile.email_verified:
        return owner.user_id, True
    raise ContactChannelAlreadyUsedForAuthBySomeoneElse(
        type="email",
        contact_channel_value=profile.email,
        would_work_if_email_was_verified=strategy == "link_method" and not owner.is_verified,
    )


async def _new_user(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    profile: ProviderProfile,
    *,
    anonymous_user_id: str | None,
    email_signs_in: bool,
    outcome: SignUpOutcome,
) -> str:
    email_auth = email_signs_in and profile.email is not None
    if anonymous_user_id is not None:
        await sign_up_rules.restrict_upgraded_in(conn, project, anonymous_user_id, outcome)
        await users.upgrade_anonymous_in(
            conn,
            project,
            anonymous_user_id,
            email=profile.email,
            email_verified=profile.email_verified,
            email_signs_in=email_auth,
            display_name=profile.display_name,
            profile_image_url=profile.profile_image_url,
        )
        return anonymous_user_id
    created = await users.insert_user_in(
        conn,
        deps,
        project,
        outcome.restrict(
            NewUser(
                primary_email=profile.email,
                primary_email_verified=profile.email_verified,
                primary_email_auth_enabled=email_auth,
                display_name=profile.display_name,
                profile_image_url=profile.profile_image_url,
            )
        ),
    )
    return str(created)


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """What a provider sign-in was started for: the provider, and the signed-in user of the flow
    (the one a link is for, or an anonymous user a sign-up upgrades)."""

    provider_id: str
    flow_type: FlowType
    user_id: uuid.UUID | None

    @classmethod
    def of(cls, info: OuterInfoRow) -> SignInAttempt:
        return cls(info.provider_config_id, info.flow_type, info.user_id)


async def sign_in_in(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    attempt: SignInAttempt,
    profile: ProviderProfile,
    tokens: ProviderTokens | None,
    rules: sign_up_rules.Gate,
) -> OAuthUser:
    """Resolve the user of a completed provider sign-in and keep the provider's tokens (if any).

    Raise OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER (linking an account another user
    signs in with), CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE (see the module doc),
    SIGN_UP_NOT_ENABLED, SIGN_UP_REJECTED (``rules``, whose triggers the caller records after the
    transaction), or USER_NOT_FOUND (the linking user was deleted meanwhile).
    """
    provider_id = attempt.provider_id
    existing = await q.select_sign_in_account(
        conn, project.tenancy_id, provider_id, profile.account_id
    )
    if attempt.flow_type == "link":
        assert attempt.user_id is not None  # the table's check: a link flow names its user
        user_id = str(attempt.user_id)
        if await users_q.select_user(conn, project.tenancy_id, user_id) is None:
            raise UserNotFound()
        if existing is not None and str(existing.user_id) != user_id:
            raise OAuthConnectionAlreadyConnectedToAnotherUser()
        await _link(conn, deps, project, provider_id, user_id, profile, tokens)
        return OAuthUser(user_id, is_new_user=False)
    if existing is not None:
        await _store_tokens(conn, deps, project, existing.id, tokens)
        return OAuthUser(str(existing.user_id), is_new_user=False)
    merge_into, email_signs_in = await _merge_target(conn, project, profile)
    if merge_into is not None:
        await _link(conn, deps, project, provider_id, merge_into, profile, tokens)
        return OAuthUser(merge_into, is_new_user=False)
    outcome = _admit_sign_up(project, rules, provider_id, profile)
    user_id = await _new_user(
        conn,
        deps,
        project,
        profile,
        anonymous_user_id=await _anonymous_user(conn, project, attempt.user_id),
        email_signs_in=email_signs_in,
        outcome=outcome,
    )
    await _link(conn, deps, project, provider_id, user_id, profile, tokens)
    return OAuthUser(user_id, is_new_user=True)


T = TypeVar("T")


async def sign_in(
    deps: Deps,
    project: TenantProject,
    attempt: SignInAttempt,
    profile: ProviderProfile,
    tokens: ProviderTokens | None,
    then: Callable[[AsyncConnection[Any], OAuthUser], Awaitable[T]],
) -> T:
    """``sign_in_in`` and ``then`` (what the caller hands out for the user: a code, a session)
    in one transaction; its errors, and ``then``'s. The sign-up rules' triggers are recorded
    after it, whether it commits or not.
    """
    rules = sign_up_rules.Gate(deps, project)
    retried = False
    try:
        while True:
            try:
                async with deps.pool.connection() as conn, conn.transaction():
                    user = await sign_in_in(conn, deps, project, attempt, profile, tokens, rules)
                    return await then(conn, user)
            except UniqueViolation:
                # Another sign-in created the same account or email meanwhile (a double click):
                # once more, that account now exists and the rules above apply to it.
                if retried:
                    raise
                retried = True
    finally:
        await rules.record()  # after the transaction, which a rejection rolls back
