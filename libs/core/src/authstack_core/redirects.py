"""Redirect-URL checks (contract §5.2): exact trusted-domain matching, never open redirects."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from authstack_core.errors import RedirectUrlNotWhitelisted
from authstack_core.models.config import ProjectConfig, is_localhost_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
MOBILE_SCHEME = "stack-auth-mobile-oauth-url"


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORTS.get(scheme)


def _host_matches(pattern: str, host: str) -> bool:
    if "*" not in pattern:
        return pattern == host
    # A wildcard stands for one or more DNS labels' characters, never a dot or the whole host.
    regex = "^" + re.escape(pattern).replace(r"\*\*", ".+").replace(r"\*", "[^.]+") + "$"
    return re.match(regex, host) is not None


def is_trusted_redirect(config: ProjectConfig, url: str) -> bool:
    """Whether ``url`` is under a trusted domain, on allowed localhost, or the mobile scheme."""
    try:
        target = urlsplit(url)
        target_port = target.port
    except ValueError:
        return False
    scheme = target.scheme.lower()
    if scheme == MOBILE_SCHEME:
        return True
    if scheme not in ("http", "https") or not target.hostname or target.username or target.password:
        return False
    if config.allow_localhost and is_localhost_url(url):
        return True
    host = target.hostname.lower()
    path = target.path or "/"
    for domain in config.trusted_domains:
        try:
            base = urlsplit(domain.base_url)
            base_port = base.port
        except ValueError:
            continue
        if base.scheme.lower() != scheme or not base.hostname:
            continue
        if not _host_matches(base.hostname.lower(), host):
            continue
        if _port(scheme, base_port) != _port(scheme, target_port):
            continue
        base_path = base.path.rstrip("/")
        if path == base_path or path.startswith(base_path + "/") or not base_path:
            return True
    return False


def require_trusted_redirect(config: ProjectConfig, url: str | None) -> None:
    """Raise REDIRECT_URL_NOT_WHITELISTED unless ``url`` is None or a trusted redirect."""
    if url is not None and not is_trusted_redirect(config, url):
        raise RedirectUrlNotWhitelisted()
