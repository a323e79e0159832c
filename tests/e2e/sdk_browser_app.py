"""A tiny browser app on the official SDK, for the tests that drive the SDK in Chromium (OAuth
sign-in, passkeys): bundled by esbuild once per pinned SDK version and served on
``http://localhost:<port>``, the origin a project with ``allowLocalhost`` trusts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.e2e.test_sdk import SDK_DIR, SDK_PACKAGES, VERSIONS
from tests.factories import run_captured

ESBUILD = SDK_DIR / "node_modules" / ".bin" / "esbuild"


def bundle_per_version(entry: str, out: Path) -> dict[str, Path]:
    """``entry`` (relative to tests/e2e/sdk) bundled for the browser once per SDK version, with
    ``@stackframe/js`` aliased to that version's package: version -> the folder holding
    ``app.js``."""
    for version, package in SDK_PACKAGES.items():
        command = [str(ESBUILD), entry, "--bundle", "--platform=browser", "--format=esm",
                   f"--outfile={out / version / 'app.js'}", "--log-level=warning",
                   f"--alias:@stackframe/js={package}"]  # fmt: skip
        done = run_captured(command, timeout=120, cwd=SDK_DIR)
        assert done.returncode == 0, f"esbuild failed:\n{done.stdout}\n{done.stderr}"
    return {version: out / version for version in VERSIONS}


class _AppHandler(SimpleHTTPRequestHandler):
    """``/app.js`` from the bundle's folder; every other path is the app's one page."""

    page: bytes

    def log_message(self, format: str, *args: Any) -> None:  # the base signature
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/app.js":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)


@contextmanager
def app_on_localhost(bundle: Path, config: dict[str, str], title: str) -> Iterator[str]:
    """Serve the app (its config in ``window.AUTHSTACK``); yields its ``http://localhost`` URL."""
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
        f"<script>window.AUTHSTACK = {json.dumps(config)};</script>"
        '<script type="module" src="/app.js"></script></head><body></body></html>'
    )
    handler = type("Handler", (_AppHandler,), {"page": page.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(bundle)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
