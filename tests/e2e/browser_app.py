"""Tiny browser apps on the official SDK, for the Chromium tests: ``sdk/<entry>.js`` bundled by
esbuild once per pinned SDK version (``@stackframe/js`` aliased to that version's package), then
served on ``http://localhost:<port>`` by a server that notes every request it gets (path and
Referer): ``/app.js`` is the bundle, every other path the app's one page, which sets
``window.AUTHSTACK`` to the app's config before loading it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.e2e.test_sdk import SDK_DIR, SDK_PACKAGES, VERSIONS
from tests.factories import run_captured, serving

ESBUILD = SDK_DIR / "node_modules" / ".bin" / "esbuild"


def bundle_per_version(entry: str, out: Path) -> dict[str, Path]:
    """``entry`` (relative to the SDK folder) bundled per version: version -> its folder."""
    for version, package in SDK_PACKAGES.items():
        command = [str(ESBUILD), entry, "--bundle", "--platform=browser", "--format=esm",
                   f"--outfile={out / version / 'app.js'}", "--log-level=warning",
                   f"--alias:@stackframe/js={package}"]  # fmt: skip
        done = run_captured(command, timeout=120, cwd=SDK_DIR)
        assert done.returncode == 0, f"esbuild failed:\n{done.stdout}\n{done.stderr}"
    return {version: out / version for version in VERSIONS}


def reported_user(page: Any) -> dict[str, Any]:
    """The user the app's page reported (``<body data-user>``); fails on ``data-error``."""
    body = page.locator("body[data-user], body[data-error]")
    body.wait_for(state="attached", timeout=30_000)
    assert body.get_attribute("data-error") is None, body.get_attribute("data-error")
    found: dict[str, Any] = json.loads(body.get_attribute("data-user"))
    return found


@dataclass
class ServedApp:
    url: str
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Referer)


class _AppHandler(SimpleHTTPRequestHandler):
    page: bytes
    app: ServedApp

    def log_message(self, format: str, *args: Any) -> None:  # the base signature
        pass

    def do_GET(self) -> None:
        self.app.requests.append((self.path, self.headers.get("Referer")))
        if self.path.split("?")[0] == "/app.js":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)


@contextmanager
def app_on_localhost(bundle: Path, config: dict[str, str], title: str) -> Iterator[ServedApp]:
    """Serve the app in ``bundle`` with ``config``; yields it once it listens."""
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
        f"<script>window.AUTHSTACK = {json.dumps(config)};</script>"
        '<script type="module" src="/app.js"></script></head><body></body></html>'
    )
    app = ServedApp("")
    handler = type("Handler", (_AppHandler,), {"page": page.encode(), "app": app})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(bundle)))
    app.url = f"http://localhost:{server.server_address[1]}"
    with serving(server):
        yield app
