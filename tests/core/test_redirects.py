"""The browser-equivalent URL parser and the trusted-redirect check built on it."""

from __future__ import annotations

from typing import Any

import pytest

from authstack_core.domain.verification import link_with_code
from authstack_core.errors import RedirectUrlNotWhitelisted
from authstack_core.models.config import NEW_PROJECT_OVERRIDE, ProjectConfig
from authstack_core.redirects import (
    is_trusted_redirect,
    require_trusted_redirect,
    trusted_redirect,
)
from authstack_core.urls import is_localhost_url, is_loopback, parse_web_url
from tests.redirect_cases import (
    ACCEPTED,
    BYPASSES,
    LOCALHOST_ACCEPTED,
    LOCALHOST_BYPASSES,
    LOCALHOST_CONFIG,
    TRUSTED_CONFIG,
)


def config(override: dict[str, Any]) -> ProjectConfig:
    return ProjectConfig.from_override({**NEW_PROJECT_OVERRIDE, **override})


def trusting(*base_urls: str, allow_localhost: bool = False) -> ProjectConfig:
    domains = {f"d{i}": {"baseUrl": url} for i, url in enumerate(base_urls)}
    return config({"domains.allowLocalhost": allow_localhost, "domains.trustedDomains": domains})


def test_the_tables_are_large_enough() -> None:
    assert len(BYPASSES) >= 30
    assert len(set(BYPASSES)) == len(BYPASSES)
    assert len(set(LOCALHOST_BYPASSES)) == len(LOCALHOST_BYPASSES)


@pytest.mark.parametrize("url", BYPASSES)
def test_bypass_is_refused(url: str) -> None:
    assert trusted_redirect(config(TRUSTED_CONFIG), url) is None
    with pytest.raises(RedirectUrlNotWhitelisted):
        require_trusted_redirect(config(TRUSTED_CONFIG), url)


@pytest.mark.parametrize("url", LOCALHOST_BYPASSES)
def test_localhost_bypass_is_refused_even_with_localhost_allowed(url: str) -> None:
    assert trusted_redirect(config(LOCALHOST_CONFIG), url) is None


@pytest.mark.parametrize(("url", "serialised"), ACCEPTED)
def test_trusted_url_is_accepted_in_its_browser_serialisation(url: str, serialised: str) -> None:
    assert require_trusted_redirect(config(TRUSTED_CONFIG), url) == serialised


@pytest.mark.parametrize(("url", "serialised"), LOCALHOST_ACCEPTED)
def test_loopback_url_needs_allow_localhost(url: str, serialised: str) -> None:
    assert trusted_redirect(config(LOCALHOST_CONFIG), url) == serialised
    assert trusted_redirect(config(TRUSTED_CONFIG), url) is None


def test_none_stays_none() -> None:
    assert require_trusted_redirect(config(TRUSTED_CONFIG), None) is None


def test_new_projects_allow_no_localhost() -> None:
    fresh = ProjectConfig.from_override(NEW_PROJECT_OVERRIDE)
    assert fresh.allow_localhost is False
    assert not is_trusted_redirect(fresh, "http://localhost:3000/handler")


@pytest.mark.parametrize(
    ("raw", "href", "host", "kind", "port"),
    [
        ("HTTPS://App.Test:443/a/./b/../c", "https://app.test/a/c", "app.test", "domain", 443),
        ("http://app.test:8080", "http://app.test:8080/", "app.test", "domain", 8080),
        ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/", "xn--bcher-kva.example",
         "domain", 443),
        ("https://ex\u00adample.com/", "https://example.com/", "example.com", "domain", 443),
        ("https://a\u3002b\uff0ec/", "https://a.b.c/", "a.b.c", "domain", 443),
        ("https://app%2Etest/", "https://app.test/", "app.test", "domain", 443),
        ("http://0x7f.0.0.1/", "http://127.0.0.1/", "127.0.0.1", "ipv4", 80),
        ("http://2130706433/", "http://127.0.0.1/", "127.0.0.1", "ipv4", 80),
        ("http://[0:0::1]:3000/", "http://[::1]:3000/", "[::1]", "ipv6", 3000),
        ("stack-auth-mobile-oauth-url://cb", "stack-auth-mobile-oauth-url://cb", "cb", "domain",
         None),
    ],
)  # fmt: skip
def test_parser_normalises_like_a_browser(
    raw: str, href: str, host: str, kind: str, port: int | None
) -> None:
    url = parse_web_url(raw)
    assert url is not None
    assert (url.href, url.host, url.host_kind, url.port) == (href, host, kind, port)


@pytest.mark.parametrize(
    "raw",
    [
        "https://a b.test/",  # space in the host
        "https://a\\b.test/",  # backslash anywhere
        "https://a.test/\t",  # tab anywhere
        "https://a%00.test/",  # NUL decoded into the host
        "https://a%2fb.test/",  # "/" decoded into the host
        "https://a<b.test/",  # forbidden host code point
        "https://a.test:99999/",  # port out of range
        "https://[::1/",  # unclosed IPv6
        "https://1.2.3.4.5/",  # looks numeric, is no IPv4
        "/relative/path",
        "",
    ],
)
def test_parser_refuses_what_a_browser_refuses_or_reads_differently(raw: str) -> None:
    assert parse_web_url(raw) is None


@pytest.mark.parametrize(
    ("raw", "loopback"),
    [
        ("http://localhost/", True),
        ("http://a.b.localhost:1/", True),
        ("http://127.0.0.1/", True),
        ("http://0x7f000001/", True),  # 127.0.0.1 after parsing
        ("http://[::1]/", True),
        ("http://LocalHost/", True),
        ("http://127.0.0.2/", False),
        ("http://localhost./", False),
        ("http://localhost.attacker.test/", False),
        ("http://attacker.test\\.localhost/", False),
        ("http://localhost@attacker.test/", False),
        ("http://[::ffff:127.0.0.1]/", False),
        ("ftp://localhost/", False),
    ],
)
def test_loopback_is_judged_on_the_parsed_host(raw: str, loopback: bool) -> None:
    assert is_localhost_url(raw) is loopback
    parsed = parse_web_url(raw)
    if loopback:
        assert parsed is not None
        assert is_loopback(parsed)


def test_wildcard_matches_one_label_only() -> None:
    cfg = trusting("https://*.example.com")
    assert is_trusted_redirect(cfg, "https://a.example.com/")
    assert is_trusted_redirect(cfg, "https://a-b_c.example.com/")
    for url in (
        "https://example.com/",
        "https://.example.com/",
        "https://a.b.example.com/",
        "https://aexample.com/",
        "https://a.example.com.evil.test/",
        "https://*.example.com/",
    ):
        assert not is_trusted_redirect(cfg, url), url


def test_wildcard_inside_a_label_and_double_wildcard() -> None:
    inside = trusting("https://pr-*.preview.example.com")
    assert is_trusted_redirect(inside, "https://pr-42.preview.example.com/")
    assert not is_trusted_redirect(inside, "https://pr-.preview.example.com/")
    assert not is_trusted_redirect(inside, "https://pr-4.2.preview.example.com/")
    deep = trusting("https://**.example.com")
    assert is_trusted_redirect(deep, "https://a.b.example.com/")
    assert not is_trusted_redirect(deep, "https://example.com/")
    assert not is_trusted_redirect(deep, "https://evil%2ecom\\.example.com/")


def test_a_wildcard_never_matches_an_ip_address() -> None:
    cfg = trusting("http://127.0.0.*")
    assert not is_trusted_redirect(cfg, "http://127.0.0.1/")


def test_trusted_domains_are_parsed_with_the_same_parser() -> None:
    assert is_trusted_redirect(trusting("HTTPS://App.Test:443/"), "https://app.test/x")
    assert is_trusted_redirect(
        trusting("https://b\u00fccher.example"), "https://xn--bcher-kva.example/"
    )
    assert is_trusted_redirect(
        trusting("https://xn--bcher-kva.example"), "https://b\u00fccher.example/"
    )
    assert is_trusted_redirect(trusting("http://app.test:80"), "http://app.test/")
    # A malformed trusted domain trusts nothing, rather than whatever urllib made of it.
    broken = trusting("https://app.test\\.evil.test", "https://user:pw@app.test")
    assert not is_trusted_redirect(broken, "https://app.test/")
    assert not is_trusted_redirect(broken, "https://app.test/.evil.test")


def test_path_must_be_at_or_below_the_base_path() -> None:
    cfg = trusting("https://app.test/app/")
    assert is_trusted_redirect(cfg, "https://app.test/app")
    assert is_trusted_redirect(cfg, "https://app.test/app/handler")
    assert not is_trusted_redirect(cfg, "https://app.test/application")
    assert not is_trusted_redirect(cfg, "https://app.test/app/../admin")
    assert not is_trusted_redirect(cfg, "https://app.test/app/%2e%2e/admin")


def test_mobile_scheme_is_accepted_without_credentials() -> None:
    cfg = trusting()
    assert is_trusted_redirect(cfg, "stack-auth-mobile-oauth-url://callback")
    assert not is_trusted_redirect(cfg, "stack-auth-mobile-oauth-url://u:p@callback")


def test_link_with_code_keeps_the_checked_host_and_other_parameters() -> None:
    checked = require_trusted_redirect(config(TRUSTED_CONFIG), "https://app.test/h?a=b+c&code=x#f")
    assert link_with_code(checked, "abc") == "https://app.test/h?a=b+c&code=abc#f"
    decoded = require_trusted_redirect(config(TRUSTED_CONFIG), "https://app%2etest/h")
    assert link_with_code(decoded, "abc") == "https://app.test/h?code=abc"
