"""Admin SQL (``POST /internal/analytics/query``), confined to the asking project and branch.

On a ClickHouse server the query runs as ``limited_user`` with the contract's settings: that user
may read the public views only, and the row policies on them keep the rows whose project and
branch equal the ``SQL_project_id`` / ``SQL_branch_id`` settings, which ``readonly=1`` stops the
query from changing (contract §8).

The embedded engine has no users or row policies, and one process holds its folder. There the
store's owner (the API) copies the project's rows of each public view out of the store, and a
sandbox process that has nothing but those rows, and never opens the store, runs the query
(``analytics.sandbox``). Either way the admin's SQL is passed on as written: nothing here reads,
rewrites or filters it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from authstack_core.analytics.query_errors import safe_message
from authstack_core.analytics.sandbox import Outcome, QueryRefused, Sandbox, Slice
from authstack_core.analytics.store import Store, StoreUnavailableError, server_client
from authstack_core.errors import AnalyticsQueryError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

MAX_RESULT_ROWS = 10_000
MAX_RESULT_BYTES = 10 * 1024 * 1024
LIMITED_USER = "limited_user"
# The views limited_user is granted (the migrator's 0003/0004), in a fixed order.
PUBLIC_VIEWS = (
    "events", "users", "contact_channels", "teams", "team_member_profiles", "team_permissions",
    "team_invitations", "email_outboxes", "project_permissions", "notification_preferences",
    "refresh_tokens", "connected_accounts",
)  # fmt: skip
TIMINGS_KEPT = 1_000
# Admin queries at once per API process: each embedded one holds a sandbox process (~320 MB plus
# up to 1 GiB of query memory) and the project's exported rows; others wait their turn.
CONCURRENT_QUERIES = 2
_CODE = re.compile(r"Code: (\d+)\.")
UNAVAILABLE = "The analytics store is not available right now."
# The answer's JSON may be twice the result limit (column names repeat on every row).
MAX_RESPONSE_BYTES = 2 * MAX_RESULT_BYTES
# The embedded engine copies a project's rows out of the store for each query, in the API's memory.
EXPORT_BUDGET_BYTES = 512 * 1024 * 1024
TOO_MUCH_DATA = (
    "This project's analytics data is larger than the embedded engine serves (512 MiB per query);"
    " use a ClickHouse server (STACK_CLICKHOUSE_URL)."
)
TOO_LARGE = "The result is larger than 10 MiB; select fewer rows or columns."


@dataclass(frozen=True, slots=True)
class AdminQuery:
    """One admin's SQL for one project and branch (``query_id`` is given by ``run``)."""

    project_id: str
    branch_id: str
    query: str
    params: dict[str, Any]
    timeout_ms: int
    query_id: str = ""


@dataclass(frozen=True, slots=True)
class Timing:
    cpu_time_ms: float
    wall_clock_time_ms: float


class AdminQueries:
    """Runs admin SQL for one API process and remembers the timings of the last queries."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sandbox = Sandbox() if store.kind == "embedded" else None
        self._limited: Client | None = None
        self._columns: dict[str, str] = {}
        self._timings: OrderedDict[str, Timing] = OrderedDict()
        self._turns = anyio.Semaphore(CONCURRENT_QUERIES)

    async def run(self, request: AdminQuery) -> tuple[list[dict[str, Any]], str]:
        """The rows and the query id; raise AnalyticsQueryError (never anything else)."""
        request = replace(
            request, query_id=f"{request.project_id}:{request.branch_id}:{uuid.uuid4()}"
        )
        if self.store.kind == "disabled":
            raise AnalyticsQueryError(error="Analytics are disabled on this server.")
        try:
            async with self._turns:
                if self.sandbox is None:
                    outcome = await anyio.to_thread.run_sync(self._on_server, request)
                else:
                    outcome = await self._in_sandbox(self.sandbox, request)
        except QueryRefused as exc:
            raise AnalyticsQueryError(error=exc.message) from None
        except StoreUnavailableError:
            raise AnalyticsQueryError(error=UNAVAILABLE) from None
        self._remember(request.query_id, Timing(outcome.cpu_time_ms, outcome.wall_clock_time_ms))
        return outcome.rows, request.query_id

    async def _in_sandbox(self, sandbox: Sandbox, request: AdminQuery) -> Outcome:
        slices = await anyio.to_thread.run_sync(self._export, request.project_id, request.branch_id)
        return await sandbox.run(
            slices,
            request.query,
            request.params,
            timeout_ms=request.timeout_ms,
            query_id=request.query_id,
            max_result_rows=MAX_RESULT_ROWS,
            max_result_bytes=MAX_RESULT_BYTES,
        )

    def timing(self, query_id: str) -> Timing | None:
        return self._timings.get(query_id)

    async def aclose(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.aclose()

    def _remember(self, query_id: str, timing: Timing) -> None:
        self._timings[query_id] = timing
        while len(self._timings) > TIMINGS_KEPT:
            self._timings.popitem(last=False)

    # --- embedded: copy the project's rows out for the sandbox -----------------------------------
    def _export(self, project_id: str, branch_id: str) -> list[Slice]:
        """The project's rows of every public view, within EXPORT_BUDGET_BYTES in all."""
        try:
            with self.store.session() as client:
                return self._slices(client, {"p": project_id, "b": branch_id})
        except (StoreUnavailableError, QueryRefused):
            raise
        except Exception as exc:
            if "Code: 396." in str(exc):  # TOO_MANY_ROWS_OR_BYTES: past the budget
                raise QueryRefused(TOO_MUCH_DATA) from exc
            # The store's own failure (unmigrated, broken): not the admin's query.
            raise StoreUnavailableError(str(exc).splitlines()[0][:200]) from exc

    def _slices(self, client: Client, where: dict[str, str]) -> list[Slice]:
        slices = []
        left = EXPORT_BUDGET_BYTES
        for view in PUBLIC_VIEWS:
            columns = self._columns.get(view) or self._describe(client, view)
            native = client.raw_query(
                f"SELECT * FROM default.{view}"  # noqa: S608 - a name of ours
                " WHERE project_id = {p:String} AND branch_id = {b:String}",
                parameters=where,
                settings={"max_result_bytes": left, "result_overflow_mode": "throw"},
                fmt="Native",
            )
            left -= len(native)
            if left <= 0:
                raise QueryRefused(TOO_MUCH_DATA)
            slices.append(Slice(view, native, structure=columns))
        return slices

    def _describe(self, client: Client, view: str) -> str:
        rows = client.query(
            "SELECT name, type FROM system.columns"
            " WHERE database = 'default' AND table = {t:String} ORDER BY position",
            parameters={"t": view},
        ).result_rows
        if not rows:
            raise StoreUnavailableError(f"default.{view} is missing: run the migrator")
        self._columns[view] = ", ".join(f"`{name}` {type_}" for name, type_ in rows)
        return self._columns[view]

    # --- server: limited_user under the row policies ---------------------------------------------
    def _on_server(self, request: AdminQuery) -> Outcome:
        settings = {
            "SQL_project_id": request.project_id,
            "SQL_branch_id": request.branch_id,
            "readonly": 1,
            "allow_ddl": 0,
            "max_execution_time": max(1, request.timeout_ms // 1000),
            "max_result_rows": MAX_RESULT_ROWS,
            "max_result_bytes": MAX_RESULT_BYTES,
            "result_overflow_mode": "throw",
            "query_id": request.query_id,
        }
        started = time.perf_counter()
        try:
            if self._limited is None:
                s = self.store.settings
                self._limited = server_client(s, LIMITED_USER, s.clickhouse_external_password)
            stream = self._limited.raw_stream(
                request.query,
                parameters=request.params or None,
                settings=settings,
                fmt="JSONEachRow",
            )
            with stream:
                body = _read_capped(stream)
        except QueryRefused:
            raise
        except Exception as exc:
            text = str(exc)
            match = _CODE.search(text)
            if match is None:
                raise StoreUnavailableError(text.splitlines()[0][:200] if text else "") from exc
            raise QueryRefused(safe_message(int(match.group(1)), text)) from exc
        wall = (time.perf_counter() - started) * 1000
        rows = [msgspec.json.decode(line) for line in body.splitlines() if line.strip()]
        return Outcome(rows=rows, cpu_time_ms=wall, wall_clock_time_ms=wall)


def _read_capped(chunks: Iterable[bytes]) -> bytes:
    """The whole answer, refused past MAX_RESPONSE_BYTES: the engine's byte limit does not count
    constant columns (a repeat() of a literal passes it whatever its size)."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise QueryRefused(TOO_LARGE)
    return bytes(body)
