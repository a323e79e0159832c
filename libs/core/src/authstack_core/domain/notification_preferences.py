"""Notification preferences and one-click unsubscribes (contract §1.6).

Categories are fixed (``models.notifications``). A user's choice is a row per category; the worker
reads it when it claims a mail and skips a mail of a category the user turned off
(``USER_UNSUBSCRIBED``). Every mail of a category that can be turned off carries a signed link
(``unsubscribe_url``) in its body and in its ``List-Unsubscribe`` header; the link works once.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from psycopg import AsyncConnection

from authstack_core.crypto.unsubscribe_tokens import (
    UnsubscribeClaims,
    UnsubscribeTokenExpired,
    UnsubscribeTokenInvalid,
    read_unsubscribe_token,
    sign_unsubscribe_token,
)
from authstack_core.db.queries import notification_preferences as q
from authstack_core.db.queries.projects import select_user_exists
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import RenderedEmail
from authstack_core.errors import (
    NotificationCategoryCannotBeDisabled,
    NotificationCategoryNotFound,
    UserNotFound,
    VerificationCodeExpired,
    VerificationCodeNotFound,
)
from authstack_core.models.notifications import (
    CATEGORIES,
    NotificationCategory,
    category_by_id,
)
from authstack_core.models.projects import TenantProject
from authstack_core.settings import Settings

# Long enough for a mail read weeks later (CAN-SPAM asks for 30 days), short enough that an old
# forwarded mail stops being a lever on someone's settings.
UNSUBSCRIBE_LINK_LIFETIME = timedelta(days=90)
UNSUBSCRIBE_PATH = "/api/v1/emails/unsubscribe-link"


# --- the preference routes --------------------------------------------------------------------


async def list_preferences(
    deps: Deps, project: TenantProject, user_id: str
) -> list[dict[str, Any]]:
    """Every category with the user's choice or its default; USER_NOT_FOUND for no such user."""
    async with deps.pool.connection() as conn:
        if not await select_user_exists(conn, project.tenancy_id, user_id):
            raise UserNotFound()
        chosen = await q.select_preferences(conn, project.tenancy_id, user_id)
    return [category.item(chosen.get(category.id)) for category in CATEGORIES]


async def set_preference(
    deps: Deps, project: TenantProject, user_id: str, category_id: str, *, enabled: bool
) -> dict[str, Any]:
    """Store the user's choice for one category and return its item.

    404 for an unknown category, 400 for turning off one that cannot be (Transactional),
    USER_NOT_FOUND for no such user.
    """
    category = category_by_id(category_id)
    if category is None:
        raise NotificationCategoryNotFound()
    if not enabled and not category.can_disable:
        raise NotificationCategoryCannotBeDisabled()
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.upsert_preference(
            conn, project.tenancy_id, user_id, category.id, enabled=enabled
        ):
            raise UserNotFound()
    return category.item(enabled)


# --- unsubscribe links ------------------------------------------------------------------------


def unsubscribe_url(
    settings: Settings,
    *,
    tenancy_id: uuid.UUID,
    user_id: uuid.UUID,
    category: NotificationCategory,
    link_id: uuid.UUID,
    now: datetime | None = None,
) -> str:
    """The signed link that turns ``category`` off for the user, valid for 90 days; ``link_id``
    (the outbox row's id) makes it one mail's own."""
    claims = UnsubscribeClaims(
        tenancy_id=tenancy_id,
        user_id=user_id,
        category_id=category.id,
        link_id=link_id,
        expires_at=(now or datetime.now(UTC)) + UNSUBSCRIBE_LINK_LIFETIME,
    )
    token = sign_unsubscribe_token(settings.server_secret, claims)
    return f"{settings.api_url.rstrip('/')}{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}"


@dataclass(frozen=True, slots=True)
class UnsubscribeLink:
    """A genuine link, what it turns off, and whether it was used already."""

    claims: UnsubscribeClaims
    category: NotificationCategory
    project_display_name: str
    used: bool


def _claims(settings: Settings, token: str) -> tuple[UnsubscribeClaims, NotificationCategory]:
    try:
        claims = read_unsubscribe_token(settings.server_secret, token)
    except UnsubscribeTokenInvalid:
        raise VerificationCodeNotFound() from None
    except UnsubscribeTokenExpired:
        raise VerificationCodeExpired() from None
    category = category_by_id(claims.category_id)
    if category is None or not category.can_disable:  # never issued: signed, but not by us
        raise VerificationCodeNotFound()
    return claims, category


async def _user_exists(conn: AsyncConnection[Any], claims: UnsubscribeClaims) -> bool:
    return await select_user_exists(conn, claims.tenancy_id, str(claims.user_id))


async def inspect_link(deps: Deps, token: str) -> UnsubscribeLink:
    """Check a link without using it (the confirmation page).

    VERIFICATION_CODE_NOT_FOUND for a token that is malformed, altered or signed with another
    secret, or whose user or project is gone; VERIFICATION_CODE_EXPIRED for an old one.
    """
    claims, category = _claims(deps.settings, token)
    async with deps.pool.connection() as conn:
        name = await q.select_project_display_name(conn, claims.tenancy_id)
        if name is None or not await _user_exists(conn, claims):
            raise VerificationCodeNotFound()
        used = await q.select_link_used(conn, claims.tenancy_id, claims.link_id)
    return UnsubscribeLink(claims, category, name, used)


async def unsubscribe(deps: Deps, token: str) -> UnsubscribeLink:
    """Use a link: turn its category off for its user, once. The answer's ``used`` says the link
    had been used before (and nothing was changed now). Errors as ``inspect_link``."""
    claims, category = _claims(deps.settings, token)
    async with deps.pool.connection() as conn, conn.transaction():
        name = await q.select_project_display_name(conn, claims.tenancy_id)
        if name is None or not await _user_exists(conn, claims):
            raise VerificationCodeNotFound()
        first = await q.insert_link_use(conn, claims.tenancy_id, claims.link_id, claims.user_id)
        if first:
            await q.upsert_preference(
                conn, claims.tenancy_id, claims.user_id, category.id, enabled=False
            )
    return UnsubscribeLink(claims, category, name, used=not first)


# --- the link in the mail ---------------------------------------------------------------------

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def with_unsubscribe_footer(message: RenderedEmail, url: str) -> RenderedEmail:
    """``message`` with the unsubscribe link in a footer of its HTML and its text, unless the
    template placed it already (``{{ unsubscribeLink }}``)."""
    escaped = html.escape(url, quote=True)
    html_part = message.html
    if escaped not in html_part and url not in html_part:
        footer = (
            '<p style="margin:24px 0 0;font-size:12px;color:#a1a1aa;text-align:center;">'
            f'Do not want these emails? <a href="{escaped}" style="color:#71717a;">'
            "Unsubscribe</a></p>\n"
        )
        ends = list(_BODY_END.finditer(html_part))
        cut = ends[-1].start() if ends else len(html_part)
        html_part = html_part[:cut] + footer + html_part[cut:]
    text = message.text
    if url not in text:
        text = f"{text.rstrip()}\n\n--\nUnsubscribe: {url}\n"
    return replace(message, html=html_part, text=text)
