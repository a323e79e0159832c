"""Provider accounts linked to users, managed through the API (``/oauth-providers``, contract
§1.4): list, link (server), read, change the sign-in and connected-account flags (a server also
the email and the provider's account id), unlink.

The rules are upstream's: a user has at most one account of a provider that signs in; one row
per provider, user and provider account; and a provider account signs one user in only. An
account whose provider left the project's config is still listed, read and unlinked when its id
names a built-in provider (the type is then the id); otherwise it is left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from msgspec import UNSET
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.db.queries import oauth_accounts as q
from authstack_core.domain.context import Deps
from authstack_core.domain.teams import require_user_in
from authstack_core.errors import (
    OAuthAccountNotFound,
    OAuthAccountOfTypeExists,
    OAuthProviderAccountIdAlreadyUsedForSignIn,
    OAuthProviderNotConfiguredForAccount,
    OAuthSignInAccountOfTypeExists,
)
from authstack_core.models.oauth import (
    NewOAuthAccount,
    OAuthAccountChanges,
    OAuthAccountRow,
    provider_config,
    provider_type_of,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import Audience

_SIGN_IN_INDEX = "oauth_accounts_sign_in_idx"


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A linked account with its provider's type."""

    row: OAuthAccountRow
    type: str

    def json(self, audience: Audience) -> dict[str, Any]:
        return self.row.json(audience, self.type)


def _typed(project: TenantProject, row: OAuthAccountRow) -> LinkedAccount:
    provider_type = provider_type_of(project.config, row.provider_config_id)
    if provider_type is None:
        raise OAuthProviderNotConfiguredForAccount(row.provider_config_id)
    return LinkedAccount(row, provider_type)


async def list_accounts(
    deps: Deps, project: TenantProject, user_id: str | None
) -> list[LinkedAccount]:
    """The project's linked accounts (``user_id``'s only when given: USER_NOT_FOUND if there is
    no such user), oldest first."""
    async with deps.pool.connection() as conn:
        if user_id is not None:
            await require_user_in(conn, project, user_id)
        rows = await q.select_accounts(conn, project.tenancy_id, user_id)
    found = ((row, provider_type_of(project.config, row.provider_config_id)) for row in rows)
    return [LinkedAccount(row, kind) for row, kind in found if kind is not None]


async def _locked(
    conn: AsyncConnection[Any], project: TenantProject, user_id: str, account_id: str
) -> OAuthAccountRow:
    await require_user_in(conn, project, user_id)
    row = await q.select_account_for_update(conn, project.tenancy_id, user_id, account_id)
    if row is None:
        raise OAuthAccountNotFound(account_id, user_id)
    return row


async def get_account(
    deps: Deps, project: TenantProject, user_id: str, account_id: str
) -> LinkedAccount:
    """The user's linked account; USER_NOT_FOUND, or a 404 naming both ids."""
    async with deps.pool.connection() as conn, conn.transaction():
        row = await _locked(conn, project, user_id, account_id)
    return _typed(project, row)


async def _check_rules(
    conn: AsyncConnection[Any],
    project: TenantProject,
    user_id: str,
    account: NewOAuthAccount,
    *,
    except_id: uuid.UUID | None,
    signs_in: bool,
) -> None:
    """Upstream's rules, in its order (see the module doc); ``signs_in``: the change makes the
    account sign in, so the sign-in rules apply."""

    async def broken(rule: str) -> bool:
        return await q.rule_broken(
            conn,
            rule,
            project.tenancy_id,
            user_id=user_id,
            provider_config_id=account.provider_config_id,
            provider_account_id=account.provider_account_id,
            except_id=except_id,
        )

    if signs_in and await broken("sign_in_of_type"):
        raise OAuthSignInAccountOfTypeExists()
    if await broken("same_account"):
        raise OAuthAccountOfTypeExists()
    if signs_in and await broken("account_signs_in"):
        raise OAuthProviderAccountIdAlreadyUsedForSignIn()


def account_conflict(exc: UniqueViolation) -> Exception:
    """What a concurrent request's unique violation means to the caller."""
    if exc.diag.constraint_name == _SIGN_IN_INDEX:
        return OAuthProviderAccountIdAlreadyUsedForSignIn()
    return OAuthAccountOfTypeExists()


async def link_accounts_in(
    conn: AsyncConnection[Any],
    project: TenantProject,
    user_id: str | uuid.UUID,
    accounts: list[NewOAuthAccount],
) -> list[uuid.UUID]:
    """Link ``accounts`` to the user inside the caller's transaction; the new rows' ids.

    Raise the rules' errors (see the module doc); the caller has checked the providers.
    """
    ids = []
    for account in accounts:
        await _check_rules(
            conn, project, str(user_id), account, except_id=None, signs_in=account.allow_sign_in
        )
        account_id = uuid.uuid4()
        await q.insert_account(conn, project.tenancy_id, account_id, user_id, account)
        ids.append(account_id)
    return ids


async def link_account(
    deps: Deps, project: TenantProject, user_id: str, new: NewOAuthAccount
) -> LinkedAccount:
    """Link a provider account to the user without a sign-in (and so without provider tokens).

    Raise a 404 for a provider the project has no entry for, USER_NOT_FOUND, and the rules'
    errors (see the module doc).
    """
    provider = provider_config(project.config, new.provider_config_id)
    if provider is None:
        raise OAuthProviderNotConfiguredForAccount(new.provider_config_id)
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            await require_user_in(conn, project, user_id)
            (account_id,) = await link_accounts_in(conn, project, user_id, [new])
    except UniqueViolation as exc:  # a concurrent request linked the same account first
        raise account_conflict(exc) from None
    row = OAuthAccountRow(
        id=account_id,
        user_id=uuid.UUID(user_id),
        provider_config_id=new.provider_config_id,
        provider_account_id=new.provider_account_id,
        email=new.email,
        allow_sign_in=new.allow_sign_in,
        allow_connected_accounts=new.allow_connected_accounts,
    )
    return LinkedAccount(row, provider.type)


def _changed(row: OAuthAccountRow, changes: OAuthAccountChanges) -> OAuthAccountRow:
    updated = replace(row)
    if changes.allow_sign_in is not UNSET:
        updated.allow_sign_in = changes.allow_sign_in
    if changes.allow_connected_accounts is not UNSET:
        updated.allow_connected_accounts = changes.allow_connected_accounts
    if changes.email is not UNSET:
        updated.email = changes.email
    if changes.account_id is not UNSET:
        updated.provider_account_id = changes.account_id
    return updated


async def update_account(
    deps: Deps,
    project: TenantProject,
    user_id: str,
    account_id: str,
    changes: OAuthAccountChanges,
) -> LinkedAccount:
    """Apply a PATCH to the user's linked account; the rules are checked as the account will be.

    Raise USER_NOT_FOUND, a 404 for an account that is not the user's, and the rules' errors.
    """
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            row = await _locked(conn, project, user_id, account_id)
            updated = _changed(row, changes)
            moved = updated.provider_account_id != row.provider_account_id
            await _check_rules(
                conn,
                project,
                user_id,
                NewOAuthAccount(
                    provider_config_id=updated.provider_config_id,
                    provider_account_id=updated.provider_account_id,
                    email=updated.email,
                    allow_sign_in=updated.allow_sign_in,
                    allow_connected_accounts=updated.allow_connected_accounts,
                ),
                except_id=row.id,
                signs_in=changes.allow_sign_in is True or (moved and updated.allow_sign_in),
            )
            linked = _typed(project, updated)
            await q.update_account(conn, project.tenancy_id, updated)
    except UniqueViolation as exc:
        raise account_conflict(exc) from None
    return linked


async def unlink_account(deps: Deps, project: TenantProject, user_id: str, account_id: str) -> None:
    """Unlink the user's account, with the provider tokens kept for it.

    Raise USER_NOT_FOUND, or a 404 for an account that is not the user's.
    """
    async with deps.pool.connection() as conn, conn.transaction():
        row = await _locked(conn, project, user_id, account_id)
        await q.delete_account(conn, project.tenancy_id, row.id)
