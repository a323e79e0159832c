"""Users: reading, listing, creating, updating and deleting (sign-up and sign-in: ``accounts``)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from msgspec import UNSET, UnsetType
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.common_passwords import is_common_password
from authstack_core.crypto.passwords import (
    IMPORTABLE_HASH_FORMATS,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    is_importable_hash,
)
from authstack_core.db.queries import images as images_q
from authstack_core.db.queries import sessions as session_q
from authstack_core.db.queries import teams as teams_q
from authstack_core.db.queries import users as q
from authstack_core.domain import audit_log, mfa, passkeys, totp_secrets, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.images import ImageWrites
from authstack_core.domain.oauth_providers import account_conflict, link_accounts_in
from authstack_core.domain.permissions import grant_sign_up_defaults_in
from authstack_core.domain.teams import add_member_in, create_team_in
from authstack_core.domain.webhooks import EventType, record
from authstack_core.errors import (
    InvalidPasswordHash,
    OAuthProviderOfNewUserNotFound,
    PasskeyCannotBeEnabledManually,
    PasswordTooCommon,
    PasswordTooLong,
    PasswordTooShort,
    SchemaError,
    TeamNotFound,
    UserEmailAlreadyExists,
    UserNotFound,
)
from authstack_core.models.audit_log import Action, Actor, Target
from authstack_core.models.config import ProjectConfig
from authstack_core.models.oauth import provider_config
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import Page
from authstack_core.models.teams import NewTeam
from authstack_core.models.users import NewUser, UserChanges, UserColumns, UserRow


def check_password_rules(password: str, config: ProjectConfig) -> None:
    """Rules for a new password (NIST 800-63B: length and a blocklist, no composition rules).

    Raise PASSWORD_TOO_SHORT / PASSWORD_TOO_LONG (lengths in characters), then
    PASSWORD_REQUIREMENTS_NOT_MET (``details.reason`` PASSWORD_TOO_COMMON) for a password on the
    common-password list unless the project turned ``auth.password.rejectCommonPasswords`` off.
    Not applied to sign-in (existing passwords keep working) nor to imported hashes.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(min_length=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooLong(maxLength=MAX_PASSWORD_LENGTH)
    if config.reject_common_passwords and is_common_password(password):
        raise PasswordTooCommon()


def _check_imported_hash(value: str) -> None:
    if not is_importable_hash(value):
        raise InvalidPasswordHash(
            "Invalid password hash. Make sure it's a supported algorithm"
            f" ({IMPORTABLE_HASH_FORMATS}) with cost parameters within the accepted bounds."
        )


def is_email_conflict(exc: UniqueViolation) -> bool:
    return exc.diag.constraint_name == "contact_channels_auth_value_idx"


async def ensure_email_free(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, email: str, *, except_user: str | None
) -> None:
    owner = await q.select_auth_email_owner(conn, tenancy_id, email)
    if owner is not None and owner.user_id != except_user:
        raise UserEmailAlreadyExists(email=email, would_work_if_email_was_verified=False)


ANONYMOUS_TEAM_NAME = "Personal Team"


def personal_team_name(display_name: str | None, email: str | None) -> str:
    """``<name or email>'s Team``; an anonymous user's team is just "Personal Team"."""
    owner = display_name or email
    return f"{owner}'s Team" if owner else ANONYMOUS_TEAM_NAME


async def record_user(
    conn: AsyncConnection[Any], project: TenantProject, event: EventType, user_id: str | uuid.UUID
) -> UserRow:
    """Record ``user.created`` / ``user.updated`` with the user as it now is; returns the row."""
    row = await q.select_user(conn, project.tenancy_id, str(user_id))
    assert row is not None
    await record(conn, project, event, row.json("server", project.config))
    return row


async def insert_user_in(
    conn: AsyncConnection[Any], deps: Deps, project: TenantProject, new: NewUser
) -> uuid.UUID:
    """Create a user inside the caller's transaction (with its personal team if configured).

    Raise USER_EMAIL_ALREADY_EXISTS when its primary email already signs someone in.
    """
    tenancy_id = project.tenancy_id
    user_id = new.user_id or uuid.uuid4()
    if new.totp_secret is not None:
        new = replace(
            new, totp_secret=totp_secrets.seal(deps.settings, tenancy_id, user_id, new.totp_secret)
        )
    if new.primary_email is not None and new.primary_email_auth_enabled:
        await ensure_email_free(conn, tenancy_id, new.primary_email, except_user=None)
    await q.insert_user(conn, tenancy_id, user_id, new)
    if new.primary_email is not None:
        await q.set_primary_email(
            conn,
            tenancy_id,
            user_id,
            new.primary_email,
            verified=new.primary_email_verified,
            used_for_auth=new.primary_email_auth_enabled,
        )
    if new.password_hash is not None:
        await q.set_password_hash(conn, tenancy_id, user_id, new.password_hash)
    await link_accounts_in(conn, project, user_id, list(new.oauth_accounts))
    # Recorded before the personal team so that the event order reads as it happened.
    await record_user(conn, project, "user.created", user_id)
    await grant_sign_up_defaults_in(conn, project, str(user_id))
    if project.config.create_team_on_sign_up:
        team = await create_team_in(
            conn, project, NewTeam(personal_team_name(new.display_name, new.primary_email))
        )
        await add_member_in(conn, project, team.id, str(user_id), creator=True, selected=True)
    return user_id


async def upgrade_anonymous_in(
    conn: AsyncConnection[Any],
    project: TenantProject,
    user_id: str,
    *,
    email: str | None,
    email_verified: bool,
    email_signs_in: bool,
    display_name: str | None = None,
    profile_image_url: str | None = None,
) -> None:
    """Make the anonymous user a full one inside the caller's transaction: its primary email
    (if any), a name and picture where it has none, its personal team named after it, and a
    ``user.updated`` event. The caller has checked that ``email`` is free to sign in with."""
    tenancy_id = project.tenancy_id
    current = await q.select_user(conn, tenancy_id, user_id)
    assert current is not None
    columns = UserColumns(is_anonymous=False)
    if display_name is not None and current.display_name is None:
        columns.display_name = display_name
    if profile_image_url is not None and current.profile_image_url is None:
        columns.profile_image_url = profile_image_url
    await q.update_user_columns(conn, tenancy_id, user_id, columns)
    if email is not None:
        await q.set_primary_email(
            conn, tenancy_id, user_id, email, verified=email_verified, used_for_auth=email_signs_in
        )
    await teams_q.rename_user_teams_named(
        conn,
        tenancy_id,
        user_id,
        ANONYMOUS_TEAM_NAME,
        personal_team_name(current.display_name or display_name, email),
    )
    await record_user(conn, project, "user.updated", user_id)


async def get_user(deps: Deps, project: TenantProject, user_id: str) -> UserRow | None:
    async with deps.pool.connection() as conn:
        return await q.select_user(conn, project.tenancy_id, user_id)


async def list_users(
    deps: Deps,
    project: TenantProject,
    *,
    limit: int | None,
    cursor: str | None,
    desc: bool,
    team_id: str | None,
    query: str | None,
    include_anonymous: bool,
    only_anonymous: bool,
    include_restricted: bool,
) -> Page[UserRow]:
    """A page of users in sign-up order (100 without ``limit``)."""
    tenancy_id = project.tenancy_id
    page_size = limit if limit is not None else 100
    async with deps.pool.connection() as conn:
        cursor_key = None
        if cursor is not None:
            signed_up_at = await q.select_signed_up_at(conn, tenancy_id, cursor)
            if signed_up_at is None:
                return Page([], None)
            cursor_key = (signed_up_at, cursor)
        rows = await q.select_users(
            conn,
            tenancy_id,
            limit=page_size + 1,
            desc=desc,
            cursor=cursor_key,
            team_id=team_id,
            query=query,
            include_anonymous=include_anonymous or only_anonymous,
            only_anonymous=only_anonymous,
            include_restricted=include_restricted or include_anonymous or only_anonymous,
            require_verification=project.config.require_email_verification,
        )
    return Page.cut(rows, page_size)


async def create_user(
    deps: Deps, project: TenantProject, new: NewUser, *, password: str | None, actor: Actor | None
) -> UserRow:
    """Server-side create; raise USER_EMAIL_ALREADY_EXISTS for an email already used to sign in,
    a 400 for a linked account of a provider the project has no entry for, and the linked-account
    rules' errors (``oauth_providers``). A user created restricted is audited as restricted."""
    for account in new.oauth_accounts:
        if provider_config(project.config, account.provider_config_id) is None:
            raise OAuthProviderOfNewUserNotFound(account.provider_config_id)
    if password is not None:
        check_password_rules(password, project.config)
        new = replace(new, password_hash=await deps.passwords.hash(password))
    elif new.password_hash is not None:
        _check_imported_hash(new.password_hash)
    tenancy_id = project.tenancy_id
    images = ImageWrites(deps, project.id)
    new = replace(new, profile_image_url=await images.take(new.profile_image_url))
    try:
        async with images, deps.pool.connection() as conn, conn.transaction():
            user_id = await insert_user_in(conn, deps, project, new)
            await images.attach_in(conn, dropped=())
            row = await q.select_user(conn, tenancy_id, str(user_id))
            if new.restricted_by_admin:
                await _record_restriction(conn, project, actor, str(user_id), restricted=True)
    except UniqueViolation as exc:
        if is_email_conflict(exc) and new.primary_email is not None:
            raise UserEmailAlreadyExists(
                email=new.primary_email, would_work_if_email_was_verified=False
            ) from None
        if new.oauth_accounts:  # another request linked the same account meanwhile
            raise account_conflict(exc) from None
        raise
    assert row is not None
    return row


async def _new_password_hash(
    deps: Deps, project: TenantProject, changes: UserChanges
) -> str | None | UnsetType:
    """The hash a PATCH sets (None removes the password; UNSET keeps it). A password is
    checked against the rules and hashed; an imported hash, sent too, wins."""
    new_hash: str | None | UnsetType = UNSET
    if changes.password is not UNSET:
        if changes.password is None:
            new_hash = None
        else:
            check_password_rules(changes.password, project.config)
            new_hash = await deps.passwords.hash(changes.password)
    if changes.password_hash is not UNSET:
        if changes.password_hash is not None:
            _check_imported_hash(changes.password_hash)
        new_hash = changes.password_hash
    return new_hash


async def update_user(
    deps: Deps, project: TenantProject, user_id: str, changes: UserChanges, *, actor: Actor | None
) -> UserRow:
    """Apply a validated PATCH; a password change ends all sessions; a change of
    ``restricted_by_admin`` is audited as ``actor``'s.

    Raise USER_NOT_FOUND, TEAM_NOT_FOUND for a selected team the user is not in,
    USER_EMAIL_ALREADY_EXISTS, the password rules' errors, or SCHEMA_ERROR.
    """
    tenancy_id = project.tenancy_id
    new_hash = await _new_password_hash(deps, project, changes)
    if changes.is_anonymous is True:
        raise SchemaError(message="is_anonymous can only be set to false")
    if changes.passkey_auth_enabled is True:
        raise PasskeyCannotBeEnabledManually()
    columns = changes.columns()
    # false removes the passkey (and so clears the flag), as upstream; see domain.passkeys.
    remove_passkey = columns.passkey_auth_enabled is False
    columns.passkey_auth_enabled = UNSET
    if changes.totp_secret_base64 is not UNSET:
        raw = mfa.parse_totp_secret(changes.totp_secret_base64)
        columns.totp_secret = (
            None if raw is None else totp_secrets.seal(deps.settings, tenancy_id, user_id, raw)
        )
        columns.requires_totp_mfa = raw is not None
        columns.totp_last_used_step = None  # steps spent under the old secret say nothing new
    email = changes.primary_email
    verified = None if changes.primary_email_verified is UNSET else changes.primary_email_verified
    auth_enabled = (
        None if changes.primary_email_auth_enabled is UNSET else changes.primary_email_auth_enabled
    )
    team_id = changes.selected_team_id
    images = ImageWrites(deps, project.id)
    columns.profile_image_url = await images.take(columns.profile_image_url)
    try:
        async with images, deps.pool.connection() as conn, conn.transaction():
            old_image = await images_q.lock_user_image(conn, tenancy_id, user_id)
            current = await q.select_user(conn, tenancy_id, user_id)
            if current is None:
                raise UserNotFound()
            _check_restriction_fields(current, columns)
            await q.update_user_columns(conn, tenancy_id, user_id, columns)
            if remove_passkey:
                await passkeys.remove_in(conn, project, user_id)
            if columns.profile_image_url is not UNSET:
                await images.attach_in(conn, dropped=[old_image])
            if email is None:
                await q.delete_primary_email(conn, tenancy_id, user_id)
            elif email is not UNSET:
                same = current.primary_email is not None and current.primary_email == email
                use_for_auth = (
                    auth_enabled if auth_enabled is not None
                    else (current.primary_email_auth_enabled if current.primary_email else True)
                )  # fmt: skip
                if use_for_auth:
                    await ensure_email_free(conn, tenancy_id, email, except_user=user_id)
                await q.set_primary_email(
                    conn,
                    tenancy_id,
                    user_id,
                    email,
                    verified=verified
                    if verified is not None
                    else (current.primary_email_verified if same else False),
                    used_for_auth=use_for_auth,
                )
            elif verified is not None or auth_enabled is not None:
                if (
                    auth_enabled
                    and current.primary_email
                    and not current.primary_email_auth_enabled
                ):
                    await ensure_email_free(
                        conn, tenancy_id, current.primary_email, except_user=user_id
                    )
                await q.update_primary_email_flags(
                    conn, tenancy_id, user_id, verified=verified, used_for_auth=auth_enabled
                )
            if team_id is not UNSET:
                if team_id is not None and not await q.select_is_member(
                    conn, tenancy_id, team_id, user_id
                ):
                    raise TeamNotFound(team_id=team_id)
                await q.set_selected_team(conn, tenancy_id, user_id, team_id)
            if new_hash is not UNSET:
                await q.set_password_hash(conn, tenancy_id, user_id, new_hash)
                await session_q.delete_user_sessions(conn, tenancy_id, user_id)
                # A reset link sent before the change must not undo it.
                await verification.expire_password_reset_codes(
                    conn, project_id=project.id, user_id=user_id
                )
            if columns.restricted_by_admin not in (UNSET, current.restricted_by_admin):
                await _record_restriction(
                    conn, project, actor, user_id, restricted=bool(columns.restricted_by_admin)
                )
            row = await record_user(conn, project, "user.updated", user_id)
    except UniqueViolation as exc:
        if is_email_conflict(exc) and isinstance(email, str):
            raise UserEmailAlreadyExists(
                email=email, would_work_if_email_was_verified=False
            ) from None
        raise
    assert row is not None
    return row


def _check_restriction_fields(current: UserRow, columns: UserColumns) -> None:
    if columns.restricted_by_admin or (
        columns.restricted_by_admin is UNSET and current.restricted_by_admin
    ):
        return
    for field in ("restricted_by_admin_reason", "restricted_by_admin_private_details"):
        if getattr(columns, field) not in (None, UNSET):
            raise SchemaError(message=f"{field} must be null unless restricted_by_admin is true")
    # Lifting a restriction clears its reasons, so the row never keeps stale ones.
    if columns.restricted_by_admin is False:
        columns.restricted_by_admin_reason = None
        columns.restricted_by_admin_private_details = None


async def _record_restriction(
    conn: AsyncConnection[Any],
    project: TenantProject,
    actor: Actor | None,
    user_id: str,
    *,
    restricted: bool,
) -> None:
    # Neither the public reason nor the private details: the entry says that, not why.
    action: Action = "user.restricted" if restricted else "user.unrestricted"
    await audit_log.record(conn, project, actor, action, Target("user", user_id))


async def delete_user(
    deps: Deps, project: TenantProject, user_id: str, *, actor: Actor | None
) -> None:
    """Delete a user and, by cascade, its sessions, channels, memberships, grants and keys; its
    stored images (its own and its member profiles') are deleted after commit. Audited as
    ``actor``'s (None: a clean-up no request asked for, not audited)."""
    images = ImageWrites(deps, project.id)
    async with images, deps.pool.connection() as conn, conn.transaction():
        team_ids = await teams_q.select_user_team_ids(conn, project.tenancy_id, user_id)
        dropped = [
            await images_q.lock_user_image(conn, project.tenancy_id, user_id),
            *await images_q.lock_member_images(conn, project.tenancy_id, user_id=user_id),
        ]
        if not await q.delete_user(conn, project.tenancy_id, user_id):
            raise UserNotFound()
        await images.attach_in(conn, dropped=dropped)
        await record(
            conn, project, "user.deleted", {"id": user_id, "teams": [{"id": t} for t in team_ids]}
        )
        await audit_log.record(conn, project, actor, "user.deleted", Target("user", user_id))
