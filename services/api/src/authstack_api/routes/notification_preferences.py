"""Notification preferences (``/emails/notification-preference``) and the unsubscribe link of a
mail (``/emails/unsubscribe-link``: a confirmation page by GET, the RFC 8058 one-click by POST)."""

from __future__ import annotations

import html

from litestar import Response, get, patch, post

from authstack_api.auth import AnyAuth, Auth
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit
from authstack_api.responses import json_response, list_response
from authstack_api.schemas import Strict
from authstack_core.domain import notification_preferences as prefs
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError, UserAuthenticationRequired

_PREFERENCES = "/api/v1/emails/notification-preference/{user_id:str}"


class PreferenceBody(Strict):
    enabled: bool


def _owner(auth: Auth, user_id: str, action: str) -> str:
    """The user a path names (``me``: the signed-in one); a client may name only its own, as
    upstream: USER_AUTHENTICATION_REQUIRED without a user, 403 for another one."""
    if user_id == "me" or auth.type == "client":
        if auth.user is None:
            raise UserAuthenticationRequired()
        if user_id == "me":
            return auth.user.user_id
    target = check_uuid(user_id, "user_id")
    if auth.type == "client" and auth.user is not None and target != auth.user.user_id:
        raise StatusError(403, f"You can only {action} your own notification preferences")
    return target


@get(_PREFERENCES)
async def list_preferences(auth: AnyAuth, deps: Deps, user_id: str) -> Response[bytes]:
    """Every category with the user's choice (or its default) and whether it can be turned off."""
    target = _owner(auth, user_id, "view")
    return list_response(await prefs.list_preferences(deps, auth.project, target))


@patch(_PREFERENCES + "/{notification_category_id:str}")
async def update_preference(
    auth: AnyAuth, deps: Deps, user_id: str, notification_category_id: str, data: PreferenceBody
) -> Response[bytes]:
    target = _owner(auth, user_id, "manage")
    category_id = check_uuid(notification_category_id, "notification_category_id")
    item = await prefs.set_preference(deps, auth.project, target, category_id, enabled=data.enabled)
    return json_response(item)


# --- the link in the mail ---------------------------------------------------------------------

_PAGE_HEADERS = {
    # Nothing loads, nothing frames it, the form posts only back here, and the token in the
    # address goes nowhere in a Referer.
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f4f4f5;color:#18181b;margin:0;padding:48px"
    " 16px}main{max-width:440px;margin:0 auto;background:#fff;border-radius:8px;padding:32px}"
    "button{font:inherit;padding:10px 18px;border:0;border-radius:6px;background:#18181b;"
    "color:#fff;cursor:pointer}"
)


def _page(title: str, text: str, *, form: bool = False) -> Response[bytes]:
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    if form:
        # An empty action posts back to this very address, token included.
        body += (
            '<form method="post" action="">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return Response(
        document.encode("utf-8"),
        media_type="text/html",  # Litestar adds "; charset=utf-8"
        headers=_PAGE_HEADERS,
    )


def _token(token: str | None, code: str | None) -> str:
    value = token if token is not None else code
    if not value:
        raise StatusError(400, "The unsubscribe link has no token.")
    return value


def _what(link: prefs.UnsubscribeLink) -> str:
    return f"{link.category.name} emails from {link.project_display_name}"


_UNSUBSCRIBE = {"limit": Limit("unsubscribe")}


@get(prefs.UNSUBSCRIBE_PATH, opt=_UNSUBSCRIBE)
async def unsubscribe_page(
    deps: Deps,
    token: str | None = None,
    code: str | None = None,
    notification_category_id: str | None = None,
) -> Response[bytes]:
    """The confirmation page. Opening the link changes nothing: mail scanners fetch links by
    GET, and one must not unsubscribe anyone (upstream's GET does; its links still work here).
    ``code`` and ``notification_category_id`` are upstream's spelling of the link (the category is
    inside the signed token, this one is ignored)."""
    link = await prefs.inspect_link(deps, _token(token, code))
    if link.used:
        return _page("Already unsubscribed", f"You no longer receive {_what(link)}.")
    return _page(
        "Unsubscribe?",
        f"Stop receiving {_what(link)}? Emails about your account keep coming.",
        form=True,
    )


@post(prefs.UNSUBSCRIBE_PATH, status_code=200, opt=_UNSUBSCRIBE)
async def one_click_unsubscribe(
    deps: Deps,
    token: str | None = None,
    code: str | None = None,
    notification_category_id: str | None = None,
) -> Response[bytes]:
    """RFC 8058 one-click (a mail client POSTs ``List-Unsubscribe=One-Click`` to the header's
    URL) and the confirmation page's button. Works once: a used link changes nothing more."""
    link = await prefs.unsubscribe(deps, _token(token, code))
    if link.used:
        return _page("Already unsubscribed", f"You no longer receive {_what(link)}.")
    return _page("Unsubscribed", f"You will no longer receive {_what(link)}.")
