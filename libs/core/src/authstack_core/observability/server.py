"""A small HTTP server for a process without one (the worker): ``GET /metrics`` and nothing else."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog

from authstack_core.observability import exposition

log = structlog.get_logger(__name__)


class MetricsServer:
    """Serves the exposition on ``host:port`` from a daemon thread, under the scrape rule of
    ``exposition.access``; ``before_scrape`` refreshes sampled values first."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        token: str | None,
        production: bool,
        before_scrape: Callable[[], None] = lambda: None,
    ) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self._answer(404, b"not found\n", "text/plain; charset=utf-8")
                    return
                verdict = exposition.access(
                    server.token,
                    self.headers.get("authorization", ""),
                    self.client_address[0],
                    production=server.production,
                )
                if verdict == "unauthorized":
                    self._answer(401, b"Unauthorized\n", "text/plain; charset=utf-8")
                    return
                if verdict == "hidden":
                    self._answer(404, b"not found\n", "text/plain; charset=utf-8")
                    return
                try:
                    server.before_scrape()
                except Exception:
                    log.warning("sampling metrics failed", exc_info=True)
                self._answer(200, exposition.render(), exposition.CONTENT_TYPE)

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per scrape would drown the worker's own log

        self.token = token
        self.production = production
        self.before_scrape = before_scrape
        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
