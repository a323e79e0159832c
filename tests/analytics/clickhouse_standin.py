"""A recording stand-in for a ClickHouse server's HTTP interface, backed by an in-memory chdb.

No ClickHouse server can run where the tests run, so the server code paths (the migrator's and the
API's ``http://`` store) are tested against this: it speaks the part of ClickHouse's HTTP interface
clickhouse-connect's sync client uses (URL parameters ``query``, ``database``, ``query_id``,
``param_<name>``, settings; Basic or ``X-ClickHouse-User``/``-Key`` auth; compressed or chunked
bodies; multipart forms; ``INSERT ... FORMAT Native`` with data in the body), answers from a real
ClickHouse engine (chdb, so results come back in the formats the client expects), and writes one
JSON line per request to ``--log``: who asked (user, sha256 of the password, never the password),
the settings, parameters, query id and text, and the answer's status and error code.

Access control is what a real server does and chdb does not: statements managing users, roles,
row policies and grants are recorded and answered without running, and a user created or altered
with a password parameter (``... BY {pw:String}``) must log in with that password afterwards. Row
policies and grants are NOT enforced: a query runs over every row whoever asks.

Run it in a process of its own (``python -m tests.analytics.clickhouse_standin --log F``; it
prints ``PORT <n>`` when listening): chdb must not be loaded by the test process itself.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb  # type: ignore[import-untyped]

# URL parameters that are not settings (ClickHouse's HTTP handler takes these itself).
TRANSPORT = frozenset(
    {
        "query", "database", "default_format", "user", "password", "quota_key", "query_id",
        "role", "stacktrace", "session_id", "session_timeout", "session_check", "compress",
        "decompress", "buffer_size", "wait_end_of_query", "client_protocol_version",
    }
)  # fmt: skip
# What a real server runs and the embedded engine refuses: answered, recorded, never executed.
ACCESS_STATEMENT = re.compile(
    r"^\s*(?:(?:CREATE|ALTER|DROP)\s+(?:USER|ROLE|ROW\s+POLICY|POLICY|QUOTA|SETTINGS\s+PROFILE)\b"
    r"|GRANT\b|REVOKE\b)",
    re.IGNORECASE,
)
USER_PASSWORD = re.compile(
    r"^\s*(?:CREATE|ALTER)\s+USER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+IDENTIFIED\s+WITH\s+"
    r"\w+\s+BY\s+\{(\w+):String\}",
    re.IGNORECASE,
)
CREATE_IF_NOT_EXISTS = re.compile(r"^\s*CREATE\s+USER\s+IF\s+NOT\s+EXISTS\b", re.IGNORECASE)
INSERT_WITH_DATA = re.compile(
    rb"^\s*(INSERT\s+INTO\s+.*?)\bFORMAT\s+(\w+)[ \t]*\r?\n?", re.IGNORECASE | re.DOTALL
)
TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
ERROR_CODE = re.compile(r"Code: (\d+)\.")
# The HTTP statuses ClickHouse gives the errors tests meet; any other error is a 500.
STATUS_OF_CODE = {62: 400, 47: 400, 60: 404, 81: 404, 164: 403, 497: 403, 516: 403}
AUTHENTICATION_FAILED = 516


def statement(sql: str) -> str:
    """The statement without the comments before it (what its first keyword is)."""
    return LEADING_COMMENTS.sub("", sql, count=1)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Engine:
    """One in-memory chdb engine; each request gets a fresh handle, so settings never leak."""

    def __init__(self) -> None:
        self._base = chdb.connect(":memory:")  # keeps the engine (and its data) alive
        self._lock = threading.Lock()
        known = self._base.query("SELECT name FROM system.settings", "TabSeparated").bytes()
        self.known_settings = frozenset(known.decode().split())
        self.version = self._base.query("SELECT version()", "TabSeparated").bytes().decode().strip()

    def run(self, request: Request) -> Any:
        """Run the request's statement; an insert's data is read from a file (FROM INFILE)."""
        applied = {k: v for k, v in request.settings.items() if k in self.known_settings}
        # readonly forbids changing settings after it, so it goes last.
        order = sorted(applied, key=lambda name: name == "readonly")
        with self._lock, tempfile.NamedTemporaryFile(suffix=".data") as file:
            sql, fmt = request.sql, request.default_format
            if request.data is not None:
                file.write(request.data)
                file.flush()
                match = INSERT_WITH_DATA.match(sql.encode())
                assert match is not None
                head, data_format = match.group(1).decode(), match.group(2).decode()
                sql = f"{head} FROM INFILE {quote(file.name)} FORMAT {data_format}"
            handle = chdb.connect(":memory:")
            try:
                if request.database:  # the request's current database
                    handle.query(f"USE `{request.database.replace('`', '')}`", "TabSeparated")
                for name in order:
                    handle.query(f"SET {name} = {quote(applied[name])}", "TabSeparated")
                return handle.query(sql, fmt, params=request.params)
            finally:
                handle.close()


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class Request:
    user: str
    password: str
    sql: str  # an insert's statement without its data
    params: dict[str, str]
    settings: dict[str, str]
    data: bytes | None
    database: str | None
    default_format: str

    def record(self, query_id: str) -> dict[str, Any]:
        """What the log keeps: never a password, only its digest."""
        return {
            "at": time.time(),
            "user": self.user,
            "password_given": bool(self.password),
            "password_sha256": sha256(self.password) if self.password else None,
            "database": self.database,
            "settings": self.settings,
            "params": recorded_params(self.sql, self.params),
            "query_id": query_id,
            "query": self.sql,
            "data_bytes": len(self.data) if self.data is not None else None,
            "executed": False,
        }


class Users:
    """Who may log in: the admin given on the command line and users created with a password
    parameter (only sha256 digests are kept)."""

    def __init__(self, admin_user: str, admin_password: str) -> None:
        self._digests = {admin_user: sha256(admin_password)}
        self._lock = threading.Lock()

    def check(self, user: str, password: str) -> bool:
        with self._lock:
            return self._digests.get(user) == sha256(password)

    def remember(self, sql: str, params: dict[str, str]) -> None:
        match = USER_PASSWORD.match(statement(sql))
        if match is None or match.group(2) not in params:
            return
        with self._lock:
            if CREATE_IF_NOT_EXISTS.match(statement(sql)) and match.group(1) in self._digests:
                return
            self._digests[match.group(1)] = sha256(params[match.group(2)])


class Recorder:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the server's life
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(record, sort_keys=True) + "\n")
            self._file.flush()


def recorded_params(sql: str, params: dict[str, str]) -> dict[str, str]:
    """The parameters as logged: a user's password parameter only as ``sha256:<digest>``."""
    match = USER_PASSWORD.match(statement(sql))
    if match is None or match.group(2) not in params:
        return params
    return {**params, match.group(2): "sha256:" + sha256(params[match.group(2)])}


def decompress(body: bytes, encoding: str | None) -> bytes:
    if not encoding or encoding == "identity":
        return body
    if encoding == "lz4":
        import lz4.frame  # type: ignore[import-untyped]  # noqa: PLC0415 - clickhouse-connect's

        out = b""
        while body:  # a streamed insert is a run of frames
            decompressor = lz4.frame.LZ4FrameDecompressor()
            out += decompressor.decompress(body)
            body = decompressor.unused_data
        return out
    if encoding == "zstd":
        from clickhouse_connect.driver.compression import _zstd_decompress  # noqa: PLC0415

        return bytes(_zstd_decompress(body))
    if encoding in ("gzip", "deflate"):
        return zlib.decompress(body, zlib.MAX_WBITS | 32 if encoding == "gzip" else zlib.MAX_WBITS)
    raise ValueError(f"Content-Encoding {encoding} is not supported by the stand-in")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's pool expects
    server: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the JSON lines are the log

    def do_GET(self) -> None:
        if urlsplit(self.path).path in ("/ping", "/"):
            self._send(200, b"Ok.\n", {})
            return
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        url = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        body = decompress(self._read_body(), self.headers.get("Content-Encoding"))
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            url.update(self._form(content_type, body))
            body = b""
        text = url.get("query", "").encode()
        raw = (text + b"\n" + body) if text and body else (text or body)
        data: bytes | None = None
        insert = INSERT_WITH_DATA.match(raw)
        if insert is not None and raw[insert.end() :]:
            data, sql = raw[insert.end() :], insert.group(0).decode().strip()
        else:
            sql = raw.decode("utf-8", errors="replace").strip()
        user, password = self._credentials(url)
        request = Request(
            user=user,
            password=password,
            sql=sql,
            params={k[6:]: v for k, v in url.items() if k.startswith("param_")},
            settings={k: v for k, v in url.items() if k not in TRANSPORT and k[:6] != "param_"},
            data=data,
            database=url.get("database"),
            default_format=url.get("default_format", "TabSeparated"),
        )
        query_id = url.get("query_id") or str(uuid.uuid4())
        record = request.record(query_id)
        status, answer, headers = self._answer(request, record)
        headers["X-ClickHouse-Query-Id"] = query_id
        record.update(status=status, error_code=headers.get("X-ClickHouse-Exception-Code"))
        self.server.recorder.write(record)
        self._send(status, answer, headers)

    def _answer(
        self, request: Request, record: dict[str, Any]
    ) -> tuple[int, bytes, dict[str, str]]:
        if not self.server.users.check(request.user, request.password):
            return self._error(
                f"Code: {AUTHENTICATION_FAILED}. DB::Exception: {request.user}: Authentication"
                " failed: password is incorrect, or there is no user with such name."
                " (AUTHENTICATION_FAILED)"
            )
        if ACCESS_STATEMENT.match(statement(request.sql)):
            self.server.users.remember(request.sql, request.params)
            return 200, b"", {"X-ClickHouse-Summary": summary(None)}
        try:
            result = self.server.engine.run(request)
        except Exception as exc:  # chdb raises its own RuntimeError subclasses
            return self._error(str(exc))
        record["executed"] = True
        headers = {"X-ClickHouse-Summary": summary(result), "X-ClickHouse-Timezone": "UTC"}
        if (match := TRAILING_FORMAT.search(request.sql)) is not None:
            headers["X-ClickHouse-Format"] = match.group(1)
        return 200, result.bytes(), headers

    def _error(self, message: str) -> tuple[int, bytes, dict[str, str]]:
        match = ERROR_CODE.search(message)
        code = int(match.group(1)) if match else 1001
        if not message.startswith("Code:"):
            message = f"Code: {code}. DB::Exception: {message}"
        body = f"{message.strip()} (version {self.server.engine.version})\n".encode()
        return STATUS_OF_CODE.get(code, 500), body, {"X-ClickHouse-Exception-Code": str(code)}

    def _credentials(self, url: dict[str, str]) -> tuple[str, str]:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return user, password
        if "X-ClickHouse-User" in self.headers:
            return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
        return url.get("user", "default"), url.get("password", "")

    @staticmethod
    def _form(content_type: str, body: bytes) -> dict[str, str]:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload.decode()
        return fields

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def summary(result: Any) -> str:
    """The X-ClickHouse-Summary header (ClickHouse sends its numbers as strings)."""
    if result is None:
        return json.dumps({"read_rows": "0", "written_rows": "0", "elapsed_ns": "0"})
    return json.dumps(
        {
            "read_rows": str(result.rows_read()),
            "read_bytes": str(result.bytes_read()),
            "written_rows": "0",
            "result_bytes": str(result.bytes_written()),
            "elapsed_ns": str(int(result.elapsed() * 1e9)),
        }
    )


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, log: str, admin_user: str, admin_password: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.engine = Engine()
        self.users = Users(admin_user, admin_password)
        self.recorder = Recorder(log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--log", required=True, help="JSON lines, one per request")
    parser.add_argument("--admin-user", default="default")
    parser.add_argument(
        "--admin-password-env", default="", help="the variable holding the admin's password"
    )
    args = parser.parse_args(argv)
    password = os.environ.get(args.admin_password_env, "") if args.admin_password_env else ""
    server = StandIn(args.port, args.log, args.admin_user, password)
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
