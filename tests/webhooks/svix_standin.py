"""A recording stand-in for a Svix server: no Svix server can run here, so the Svix mode is
checked against this. It records every request the ``svix`` client makes (method, path, query,
idempotency key, JSON body) and answers with the smallest bodies in Svix's shapes that the
client accepts. Statuses can be scripted per path prefix (e.g. one 429 before a message)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOW = datetime(2026, 1, 1, tzinfo=UTC).isoformat()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class SvixStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                call = Call(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                status, body = standin._answer(call)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, prefix: str, *statuses: int) -> None:
        """Answer the next requests whose path starts with ``prefix`` with these statuses."""
        with self._lock:
            self._scripts.setdefault(prefix, deque()).extend(statuses)

    def calls_to(self, method: str, suffix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]

    def _answer(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            self.calls.append(call)
            for prefix, script in self._scripts.items():
                if call.path.startswith(prefix) and script:
                    status = script.popleft()
                    return status, {"code": "rate_limit", "detail": f"scripted {status}"}
        return self._route(call)

    def _route(self, call: Call) -> tuple[int, Any]:
        path = call.path.rstrip("/").split("/")[3:]  # after /api/v1
        if path == ["app"]:
            uid = call.body["uid"]
            return 200, {"id": f"app_{uid}", "uid": uid, "name": call.body["name"],
                         "createdAt": NOW, "updatedAt": NOW, "metadata": {}}  # fmt: skip
        if path[:1] == ["auth"]:
            return 200, {"token": "appsk_standin", "url": "https://app.svix.com/login#key=x"}
        if path[2:3] == ["msg"] and call.method == "POST" and len(path) == 3:
            msg_id = f"msg_{uuid.uuid4().hex}"
            self.messages[msg_id] = call.body
            return 202, {"id": msg_id, "eventType": call.body["eventType"],
                         "payload": call.body["payload"], "timestamp": NOW}  # fmt: skip
        if path[2:3] == ["endpoint"]:
            return self._endpoint(call, path[3:])
        if path[2:4] == ["attempt", "endpoint"] or path[2:4] == ["attempt", "msg"]:
            return 200, {"data": self._attempts(path), "done": True, "iterator": None}
        return 404, {"code": "not_found", "detail": "no such route in the stand-in"}

    def _endpoint(self, call: Call, rest: list[str]) -> tuple[int, Any]:
        if not rest:
            if call.method == "GET":
                return 200, {"data": list(self.endpoints.values()), "done": True, "iterator": None}
            endpoint_id = f"ep_{uuid.uuid4().hex[:20]}"
            self.endpoints[endpoint_id] = {
                "id": endpoint_id, "url": call.body["url"],
                "description": call.body.get("description") or "", "metadata": {},
                "eventTypes": call.body.get("eventTypes"), "disabled": False,
                "createdAt": NOW, "updatedAt": NOW,
            }  # fmt: skip
            return 201, self.endpoints[endpoint_id]
        endpoint = self.endpoints.get(rest[0])
        if endpoint is None:
            return 404, {"code": "not_found", "detail": "endpoint"}
        if rest[1:] == ["secret"]:
            return 200, {"key": "whsec_c3RhbmRpbnN0YW5kaW5zdGFuZGlu"}
        return 200, endpoint

    def _attempts(self, path: list[str]) -> list[dict[str, Any]]:
        """Every message sent, as one successful attempt on every endpoint."""
        return [
            {"id": f"atmpt_{n}", "msgId": msg_id, "endpointId": endpoint_id, "url": e["url"],
             "response": "ok", "responseStatusCode": 200, "responseDurationMs": 3,
             "status": 0, "statusText": "success", "triggerType": 0, "timestamp": NOW,
             "msg": {"id": msg_id, "eventType": m["eventType"], "payload": m["payload"],
                     "timestamp": NOW}}
            for n, (msg_id, m) in enumerate(self.messages.items())
            for endpoint_id, e in self.endpoints.items()
        ]  # fmt: skip
