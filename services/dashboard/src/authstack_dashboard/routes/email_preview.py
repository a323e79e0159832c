"""Email previews: the API renders (``POST /emails/render-email``, with the sandbox and budget of
real sends); the dashboard serves the result as a document of its own, shown in a sandboxed
iframe of the editor pages. That document's CSP allows no script, no connection, no form and no
frame of its own: only inline styles and images from data: or https: URLs, as in a mail reader.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from authstack_dashboard.client import SIGNED_OUT_CODES, ApiError
from authstack_dashboard.web import Ctx, friendly_message, page

# The paths of preview documents: the only dashboard pages another dashboard page may frame.
PREVIEW_PATH = re.compile(r"/projects/[^/]+/emails/(?:templates|drafts|themes)/[^/]+/preview")
PREVIEW_CSP = (
    b"default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    b"frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)
PREVIEW_HEADERS = [
    (b"content-security-policy", PREVIEW_CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
]
# The name of the editor pages' iframe, which their Preview buttons target.
FRAME_NAME = "email-preview"
PARTS = ("html", "text")

_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_META_STYLE = (
    "font:14px/1.4 system-ui,sans-serif;background:#eef0f4;color:#1d2330;"
    "padding:8px 12px;margin:0 0 8px;border-bottom:1px solid #dde1e7"
)
_PAGE_STYLE = "font:14px/1.5 system-ui,sans-serif;color:#1d2330;margin:12px"


def _meta(label: str, value: str) -> str:
    return (
        f'<div class="preview-meta" style="{_META_STYLE}"><b>{html.escape(label)}:</b> '
        f'<span class="preview-subject">{html.escape(value)}</span></div>'
    )


def _page(body: str, title: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="{_PAGE_STYLE}">{body}</body></html>'
    )


def preview_document(rendered: dict[str, Any], part: str) -> str:
    """The preview of a rendered email: its subject on a strip above the HTML (inserted after
    ``<body>``), or above the plain-text part when ``part`` is "text"."""
    subject = str(rendered.get("subject") or "")
    strip = _meta("Subject", subject)
    if part == "text":
        text = str(rendered.get("text") or "")
        pre = '<pre class="preview-text" style="white-space:pre-wrap">'
        body = f"{strip}{pre}{html.escape(text)}</pre>"
        return _page(body, subject or "Preview")
    email_html = str(rendered.get("html") or "")
    match = _BODY_TAG.search(email_html)
    if match is None:
        return strip + email_html
    return email_html[: match.end()] + strip + email_html[match.end() :]


def error_document(message: str) -> str:
    body = (
        '<p class="preview-error" role="alert" style="color:#7f1d1d;background:#fdecea;'
        f'padding:8px 12px;border:1px solid #f0b8b3">{html.escape(message)}</p>'
    )
    return _page(body, "Preview failed")


def chosen_part(ctx: Ctx) -> str:
    """The part asked for: the form's ``part`` on POST, the query's on GET (default html)."""
    value = ctx.form.get("part") or ctx.request.query_params.get("part", "")
    return value if value in PARTS else "html"


async def preview(ctx: Ctx, body: dict[str, Any]) -> Response:
    """Render ``body`` through ``POST /emails/render-email`` and answer the preview document; a
    source that does not render answers a short page naming the problem, in the frame."""
    try:
        rendered = await ctx.admin("POST", "/emails/render-email", ctx.project_id, json_body=body)
    except ApiError as exc:
        # Answered in the frame, which cannot show the dashboard's own pages (they refuse to be
        # framed): a sign-in that ended is noticed on the editor page's next load.
        signed_out = exc.code in SIGNED_OUT_CODES or (exc.status == 401 and exc.code is None)
        message = "You are signed out: reload the page." if signed_out else friendly_message(exc)
        status = exc.status if 400 <= exc.status < 500 else 502
        return HTMLResponse(error_document(message), status_code=status)
    return HTMLResponse(preview_document(rendered, chosen_part(ctx)))


# (ctx, unsaved) -> render-email's body: the saved item (GET), or the source in the form (POST).
BodyOf = Callable[[Ctx, bool], dict[str, Any]]


def preview_routes(path: str, body_of: BodyOf) -> list[Route]:
    """``GET path/preview``: the saved item's preview (the frame's first document);
    ``POST path/preview``: the preview of the editor form's unsaved source."""

    async def preview_saved(ctx: Ctx) -> Response:
        return await preview(ctx, body_of(ctx, False))

    async def preview_unsaved(ctx: Ctx) -> Response:
        return await preview(ctx, body_of(ctx, True))

    return [
        Route(path + "/preview", page(preview_saved), methods=["GET"]),
        Route(path + "/preview", page(preview_unsaved), methods=["POST"]),
    ]
