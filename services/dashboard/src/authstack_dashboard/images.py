"""Stored images on dashboard pages: the CSP's image source and which URLs pages may show."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from authstack_core.settings import DashboardSettings

# What a CSP source expression may hold without ending it (no space, ';' or ','), and a path
# of plain URL characters: the configured base goes into a header verbatim.
_SAFE_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+=:@/%-]*")

BASE_CSP = (
    "default-src 'self'; img-src 'self' data:{images}; style-src 'self'{styles}; "
    "script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def image_source(settings: DashboardSettings) -> str:
    """The CSP source for stored images: the public base with a trailing slash, so only paths
    under it match ("" when storage is not configured).

    Raises ValueError when the configured base is not a plain http(s) URL.
    """
    base = settings.image_base
    if not base:
        return ""
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
        or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc)
        or not _SAFE_PATH.fullmatch(parts.path)
    ):
        raise ValueError(
            "STACK_S3_PUBLIC_ENDPOINT (or STACK_S3_ENDPOINT/STACK_S3_BUCKET) must be a plain"
            f" http(s) URL, got {base!r}"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"


def content_security_policy(source: str, *, inline_styles: bool = False) -> bytes:
    """The dashboard's CSP. ``inline_styles``: only for the replay player, whose replayer styles
    the recorded page and its own controls inline; scripts stay 'self' there too."""
    styles = " 'unsafe-inline'" if inline_styles else ""
    return BASE_CSP.format(images=f" {source}" if source else "", styles=styles).encode("ascii")


def stored_image_filter(source: str) -> Callable[[object], str | None]:
    """A template filter: the URL when it is one of our stored images (the CSP lets the browser
    load it), else None (no image; a remote URL a server set is shown as text instead)."""

    def stored_image(url: object) -> str | None:
        if source and isinstance(url, str) and url.startswith(source):
            return url
        return None

    return stored_image
