"""Redirect-URL checks (contract §5.2): exact trusted-domain matching, never open redirects.

Both the URL and each trusted domain are parsed as a browser parses them (``authstack_core.urls``)
and compared on scheme, serialised host and effective port. A trusted URL is handed back in its
browser serialisation, and that form, not the client's text, is what gets stored and e-mailed: the
link a victim clicks then goes exactly where the check looked.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import overload

from authstack_core.errors import RedirectUrlNotWhitelisted
from authstack_core.models.config import ProjectConfig
from authstack_core.urls import WebUrl, is_loopback, parse_web_url

MOBILE_SCHEME = "stack-auth-mobile-oauth-url"
_WEB_SCHEMES = ("http", "https")


@lru_cache(maxsize=512)
def _pattern(host: str) -> re.Pattern[str] | None:
    """A matcher for a trusted host written with wildcards, or None for a plain host.

    ``*`` stands for one or more characters inside one DNS label (never a dot), so
    ``*.example.com`` matches ``a.example.com`` but neither ``example.com`` nor
    ``a.b.example.com``. ``**`` (upstream's spelling) stands for one or more characters that may
    span labels. The host has already been through the browser's parser, so it is lower-case ASCII.
    """
    if "*" not in host:
        return None
    regex = re.escape(host).replace(r"\*\*", ".+").replace(r"\*", "[^.]+")
    return re.compile(regex)


def _host_matches(base: WebUrl, target: WebUrl) -> bool:
    pattern = _pattern(base.host)
    if pattern is None:
        return base.host_kind == target.host_kind and base.host == target.host
    # Wildcards name DNS labels: an IP address is never one of a wildcard's matches, and a
    # literal "*" in the target is no label a browser could resolve.
    if target.host_kind != "domain" or "*" in target.host:
        return False
    return pattern.fullmatch(target.host) is not None


def _path_under(base_path: str, path: str) -> bool:
    prefix = base_path.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def trusted_redirect(config: ProjectConfig, url: str) -> str | None:
    """The browser serialisation of ``url`` if it is a trusted redirect, else None.

    Trusted means: the mobile OAuth scheme; or http(s) without credentials on a loopback host when
    the project allows localhost; or the same scheme, host (wildcards allowed) and effective port
    as a trusted domain's ``baseUrl``, with a path at or below the base URL's path.
    """
    target = parse_web_url(url)
    if target is None or target.has_credentials:
        return None
    if target.scheme == MOBILE_SCHEME:
        return target.href
    if target.scheme not in _WEB_SCHEMES or target.host_kind == "none":
        return None
    return target.href if _is_trusted_page(config, target, path_matters=True) else None


def _is_trusted_page(config: ProjectConfig, target: WebUrl, *, path_matters: bool) -> bool:
    """Whether an http(s) ``target`` is on a loopback host the project allows, or has the scheme,
    host (wildcards allowed) and effective port of a trusted domain's ``baseUrl`` (and, when
    ``path_matters``, a path at or below the base URL's path)."""
    if config.allow_localhost and is_loopback(target):
        return True
    for domain in config.trusted_domains:
        base = parse_web_url(domain.base_url)
        if base is None or base.has_credentials or base.scheme != target.scheme:
            continue
        if (
            base.port == target.port
            and _host_matches(base, target)
            and (not path_matters or _path_under(base.path, target.path))
        ):
            return True
    return False


def trusted_origin(config: ProjectConfig, origin: str) -> WebUrl | None:
    """The parsed ``origin`` if it is the origin of a page the project trusts, else None.

    For WebAuthn: ``origin`` is what a browser wrote into clientDataJSON, which is always a
    serialised origin (``scheme://host[:port]``, lower-case, no default port, no path), so any
    other spelling is refused rather than read. Trusted means: http(s) on a loopback host when the
    project allows localhost, or the scheme, host (wildcards allowed) and effective port of a
    trusted domain's ``baseUrl`` (its path does not matter: an origin has none).
    """
    target = parse_web_url(origin)
    if (
        target is None
        or target.has_credentials
        or target.scheme not in _WEB_SCHEMES
        or target.host_kind == "none"
        or target.href != origin + "/"
    ):
        return None
    return target if _is_trusted_page(config, target, path_matters=False) else None


def is_trusted_redirect(config: ProjectConfig, url: str) -> bool:
    """Whether ``url`` is a trusted redirect (see :func:`trusted_redirect`)."""
    return trusted_redirect(config, url) is not None


@overload
def require_trusted_redirect(config: ProjectConfig, url: str) -> str: ...
@overload
def require_trusted_redirect(config: ProjectConfig, url: None) -> None: ...
@overload
def require_trusted_redirect(config: ProjectConfig, url: str | None) -> str | None: ...
def require_trusted_redirect(config: ProjectConfig, url: str | None) -> str | None:
    """The browser serialisation of ``url`` (None stays None) to store and e-mail in its place.

    Raises REDIRECT_URL_NOT_WHITELISTED unless ``url`` is a trusted redirect.
    """
    if url is None:
        return None
    checked = trusted_redirect(config, url)
    if checked is None:
        raise RedirectUrlNotWhitelisted()
    return checked
