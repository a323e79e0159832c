"""Redirect-URL cases shared by the parser's unit tests and the endpoint tests.

The project under test trusts ``https://*.example.com`` and ``https://app.test``. Every string in
BYPASSES must be refused; most are attacks that a plain (non-browser) URL parser reads as one of
those hosts while a browser goes elsewhere, the rest are refused on purpose (credentials,
loopback addresses when localhost is not allowed, a trailing-dot host, other schemes).
"""

from __future__ import annotations

from typing import Any

TRUSTED_CONFIG: dict[str, Any] = {
    "domains.allowLocalhost": False,
    "domains.trustedDomains.wild": {"baseUrl": "https://*.example.com", "handlerPath": "/handler"},
    "domains.trustedDomains.app": {"baseUrl": "https://app.test", "handlerPath": "/handler"},
}
LOCALHOST_CONFIG: dict[str, Any] = {**TRUSTED_CONFIG, "domains.allowLocalhost": True}

BYPASSES: list[str] = [
    # A backslash ends the host in a browser; urllib keeps it inside.
    "https://attacker.test\\.app.test/steal",
    "https://evil%2ecom\\.example.com/handler",
    "https://attacker.test\\@app.test/",
    "https:\\\\attacker.test\\app.test",
    "https:/\\attacker.test/.app.test",
    "HTTPS://ATTACKER.TEST\\.APP.TEST/",
    # Percent-encoded delimiters and dots inside the host.
    "https://attacker.test%5c.app.test/",
    "https://attacker.test%2f.app.test/",
    "https://attacker.test%23.app.test/",
    "https://attacker.test%3f.app.test/",
    "https://attacker.test%40app.test/",
    "https://evil%2ecom.example.com/handler",
    "https://app.test%00.attacker.test/",
    # Tabs, newlines and surrounding whitespace (dropped or trimmed by a browser).
    "https://app.test\t@attacker.test/",
    "https://attacker.test\n.app.test/",
    "https://evil\t.example.com/handler",
    " https://attacker.test/",
    "https://app.test/handler\r\n",
    # Userinfo.
    "https://app.test@attacker.test/",
    "https://app.test:443@attacker.test/",
    "https://app.test%3A443@attacker.test/",
    "https://user:pass@app.test/handler",
    "https://attacker.test@a.example.com/handler",
    # Unicode dots and look-alikes (IDNA maps them before the host is compared).
    "https://attacker\u3002test\u3002example.com/",
    "https://app\uff0etest\uff0eattacker.test/",
    "https://app.test\uff0e/handler",
    "https://\u0430pp.test/handler",
    # IPv4 and IPv6 forms (no localhost for this project).
    "http://127.0.0.1/handler",
    "http://2130706433/",
    "http://0x7f.1/",
    "https://[::1]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::ffff:7f00:1]/",
    "https://[app.test]/",
    # Ports and schemes must match exactly.
    "https://app.test:8443/handler",
    "https://app.test:80/handler",
    "http://app.test/handler",
    "http://app.test:443/handler",
    "https://a.example.com:0/handler",
    "https://app.test:65536/",
    "wss://app.test/handler",
    "ftp://app.test/handler",
    "javascript://app.test/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    # Path, query and fragment tricks.
    "https://attacker.test/https://app.test/",
    "https://attacker.test?https://app.test/",
    "https://attacker.test#@app.test",
    "https://attacker.test/.app.test",
    "https://attacker.test#.example.com",
    "//app.test/handler",
    "/\\attacker.test/",
    "https:attacker.test/app.test",
    # A wildcard stands for exactly one label.
    "https://example.com/handler",
    "https://a.b.example.com/handler",
    "https://example.com.attacker.test/",
    "https://attacker-example.com/",
    # Upper case changes nothing.
    "HTTPS://APP.TEST.ATTACKER.TEST/",
    "HTTPS://ATTACKER.TEST/APP.TEST",
]

# Refused even where localhost is allowed.
LOCALHOST_BYPASSES: list[str] = [
    "http://attacker.test\\.localhost/steal",
    "http://attacker.test%5c.localhost/steal",
    "http://attacker.test%2f.localhost/steal",
    "http://localhost.attacker.test/",
    "http://localhost@attacker.test/",
    "http://localhost:3000@attacker.test/",
    "http://attacker.test@localhost/",
    "http://attacker.test?.localhost",
    "http://attacker.test#.localhost",
    "http://attacker.test/.localhost",
    "http://localhost%2eattacker.test/",
    "http://127.0.0.1.attacker.test/",
    "http://127.0.0.2/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::1].attacker.test/",
    "http://localhost./",
    "ftp://localhost/",
    "javascript://localhost/%0aalert(1)",
]

# Accepted, and stored / e-mailed in the browser's serialisation (the second item).
ACCEPTED: list[tuple[str, str]] = [
    ("https://app.test/handler/password-reset", "https://app.test/handler/password-reset"),
    ("https://app.test:443/handler?after=1", "https://app.test/handler?after=1"),
    ("https://a.example.com/handler/x", "https://a.example.com/handler/x"),
    ("https://b-2.example.com/cb?y=1#z", "https://b-2.example.com/cb?y=1#z"),
    ("HTTPS://APP.TEST/Handler", "https://app.test/Handler"),
    # A browser decodes and maps these to a trusted host, so the link goes where it was checked.
    ("https://app%2etest/handler", "https://app.test/handler"),
    ("https://a\uff0eexample.com/handler", "https://a.example.com/handler"),
    ("https://app.test/a/../handler", "https://app.test/handler"),
]

LOCALHOST_ACCEPTED: list[tuple[str, str]] = [
    ("http://localhost:3000/handler", "http://localhost:3000/handler"),
    ("https://localhost/cb", "https://localhost/cb"),
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"),
    ("http://[::1]:3000/cb", "http://[::1]:3000/cb"),
    ("http://app.localhost:5173/cb", "http://app.localhost:5173/cb"),
    ("http://LOCALHOST:3000/cb", "http://localhost:3000/cb"),
]

# The endpoint tests run each table against a project set up one of these two ways: what each
# setup must refuse, and what it must accept (with the serialisation it stores), by case name.
CONFIGS: dict[str, dict[str, Any]] = {"trusted": TRUSTED_CONFIG, "localhost": LOCALHOST_CONFIG}
REFUSED_TABLES: dict[str, tuple[str, list[str]]] = {
    "bypasses": ("trusted", BYPASSES),
    "localhost-bypasses-where-localhost-is-allowed": ("localhost", LOCALHOST_BYPASSES),
    "loopback-where-localhost-is-not-allowed": ("trusted", [u for u, _ in LOCALHOST_ACCEPTED]),
}
ACCEPTED_TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "trusted": ("trusted", ACCEPTED),
    "loopback-where-localhost-is-allowed": ("localhost", LOCALHOST_ACCEPTED),
}
