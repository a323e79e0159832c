"""The series every service may record, and one-line helpers for the places that record them.

Label values come from fixed sets (outcomes, rule names, client names), never from requests, so
the number of series stays bounded. In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) gauges
say how the processes' values combine: ``livesum`` for what each process holds (its pool),
``mostrecent`` for what any process reads from PostgreSQL for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from prometheus_client import Counter, Gauge

from authstack_core.models.backlog import Backlog
from authstack_core.observability import exposition

exposition.prepare()

EmailOutcome = Literal["sent", "retry", "failed", "skipped"]
SyncOutcome = Literal["ok", "incomplete", "error"]
RedisClient = Literal["rate_limit", "jobs"]

EMAIL_DELIVERIES = Counter(
    "authstack_email_deliveries",
    "Email delivery attempts by outcome: sent, retry (temporary failure, tried again later), "
    "failed (for good) or skipped (no recipient any more).",
    ["outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "authstack_webhook_deliveries",
    "Webhook delivery attempts by outcome: sent (2xx), retry (failed, tried again later) or "
    "failed (no attempt left).",
    ["outcome"],
)
EXTERNAL_DB_SYNC_RUNS = Counter(
    "authstack_external_db_sync_runs",
    "External database sync runs of one tenancy by outcome: ok, incomplete (a target failed) "
    "or error (the run itself failed).",
    ["outcome"],
)
PRUNED_ROWS = Counter(
    "authstack_pruned_rows",
    "Rows deleted long after they expired (POST /internal/prune-expired), by table.",
    ["table"],
)
REDIS_ERRORS = Counter(
    "authstack_redis_errors",
    "Redis calls that failed (unreachable, timed out, refused), by client: rate_limit or jobs.",
    ["client"],
)
RATE_LIMITED = Counter(
    "authstack_rate_limited",
    "Requests refused with 429, by the rule that refused them.",
    ["rule"],
)

DB_POOL_IN_USE = Gauge(
    "authstack_db_pool_in_use",
    "PostgreSQL connections lent out by the pool right now.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "authstack_db_pool_waiting",
    "Requests waiting for a PostgreSQL connection from the pool right now.",
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "authstack_db_pool_max",
    "Most connections the pool may open (STACK_DB_POOL_MAX_SIZE).",
    multiprocess_mode="livesum",
)
DB_POOL_ERRORS = Counter(
    "authstack_db_pool_errors",
    "Requests for a connection that failed (waited past their timeout, pool closing).",
)

QUEUE_DEPTH = Gauge(
    "authstack_queue_depth",
    "Work waiting in PostgreSQL, read at scrape time: email (outbox rows not finished), "
    "webhook_deliveries (not finished), webhook_events (not dispatched yet), external_db_sync "
    "(tenancies waiting for the sync). Counted up to a cap (see the README).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
EXTERNAL_DB_SYNC_LAG = Gauge(
    "authstack_external_db_sync_lag_seconds",
    "Age of the oldest request for an external database sync not yet handed to the worker "
    "(0 when none waits).",
    multiprocess_mode="mostrecent",
)
EXTERNAL_DB_SYNC_FAILING = Gauge(
    "authstack_external_db_sync_failing_targets",
    "External database targets whose last sync failed.",
    multiprocess_mode="mostrecent",
)

CLICKHOUSE_EVENTS = Counter(
    "authstack_clickhouse_events",
    "Analytics events by result: written, dropped (buffer full or analytics off) or rejected "
    "(a value ClickHouse refused).",
    ["result"],
)
CLICKHOUSE_INSERT_FAILURES = Counter(
    "authstack_clickhouse_insert_failures",
    "Batch inserts into ClickHouse that failed (the events stay buffered and are retried).",
)

PROJECT_CACHE_LOOKUPS = Counter(
    "authstack_project_cache_lookups",
    "Project lookups of request authentication by result: hit (served from the API process's "
    "cache), miss (read from PostgreSQL and kept) or bypass (read from PostgreSQL because the "
    "cache's LISTEN connection was down).",
    ["result"],
)
PROJECT_CACHE_INVALIDATIONS = Counter(
    "authstack_project_cache_invalidations",
    "Cached projects dropped: project (a change notice, or the process's own write) or flush "
    "(everything: the LISTEN connection was lost or came back, or a table was truncated).",
    ["kind"],
)
PROJECT_CACHE_ENTRIES = Gauge(
    "authstack_project_cache_entries",
    "Projects (per branch) held in the API processes' caches.",
    multiprocess_mode="livesum",
)
PROJECT_CACHE_LISTENER_CONNECTED = Gauge(
    "authstack_project_cache_listener_connected",
    "API processes whose project cache is listening for changes (the others read PostgreSQL on "
    "every request).",
    multiprocess_mode="livesum",
)

WebhookOutcome = Literal["sent", "retry", "failed"]
ClickHouseResult = Literal["written", "dropped", "rejected"]
CacheLookup = Literal["hit", "miss", "bypass"]
CacheInvalidation = Literal["project", "flush"]

# Every known label value starts at 0, so that rates and alerts see the first event too.
for _counter, _values in (
    (EMAIL_DELIVERIES, get_args(EmailOutcome)),
    (WEBHOOK_DELIVERIES, get_args(WebhookOutcome)),
    (EXTERNAL_DB_SYNC_RUNS, get_args(SyncOutcome)),
    (REDIS_ERRORS, get_args(RedisClient)),
    (CLICKHOUSE_EVENTS, get_args(ClickHouseResult)),
    (PROJECT_CACHE_LOOKUPS, get_args(CacheLookup)),
    (PROJECT_CACHE_INVALIDATIONS, get_args(CacheInvalidation)),
):
    for _value in _values:
        _counter.labels(_value)


def email_delivery(outcome: EmailOutcome) -> None:
    EMAIL_DELIVERIES.labels(outcome).inc()


def webhook_deliveries(results: Iterable[tuple[bool, float | None]]) -> None:
    """Count attempts given as (succeeded, retry delay or None)."""
    for ok, retry_in in results:
        WEBHOOK_DELIVERIES.labels(
            "sent" if ok else "retry" if retry_in is not None else "failed"
        ).inc()


def external_db_sync_run(outcome: SyncOutcome) -> None:
    EXTERNAL_DB_SYNC_RUNS.labels(outcome).inc()


def pruned_rows(deleted: dict[str, int]) -> None:
    """Count one prune call's deletions (table -> rows)."""
    for table, count in deleted.items():
        PRUNED_ROWS.labels(table).inc(count)


def redis_error(client: RedisClient) -> None:
    REDIS_ERRORS.labels(client).inc()


def rate_limited(rule: str) -> None:
    RATE_LIMITED.labels(rule).inc()


def backlog(figures: Backlog) -> None:
    """Set the PostgreSQL-read gauges from one ``domain.backlog.read_backlog``."""
    QUEUE_DEPTH.labels("email").set(figures.email)
    QUEUE_DEPTH.labels("webhook_deliveries").set(figures.webhook_deliveries)
    QUEUE_DEPTH.labels("webhook_events").set(figures.webhook_events)
    QUEUE_DEPTH.labels("external_db_sync").set(figures.external_db_sync)
    EXTERNAL_DB_SYNC_LAG.set(figures.sync_lag_seconds)
    EXTERNAL_DB_SYNC_FAILING.set(figures.sync_failing_targets)
