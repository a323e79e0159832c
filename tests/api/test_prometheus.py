"""GET /metrics on the API and the worker's metrics port: the series, their labels, the token,
and multiprocess mode (two API processes sharing PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import create_user, unique_email
from tests.conftest import ApiServer, Project, running_api, start_api, stop_api
from tests.factories import free_port
from tests.mail import PRIVATE_TARGETS_ENV, MailSink, send_email, start_worker, wait_until

TOKEN = secrets.token_urlsafe(32)
BEARER = {"authorization": f"Bearer {TOKEN}"}
# This module's API and worker use a queue namespace (and rate-limit buckets) of their own.
NAMESPACE = f"authstack_test_metrics_{secrets.token_hex(4)}"
JWKS_TEMPLATE = "/api/v1/projects/{project_id}/.well-known/jwks.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape(http: httpx.Client, **headers: str) -> Samples:
    r = http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(r.text)


@pytest.fixture(scope="module")
def api_with_token(migrated_database: str) -> Iterator[ApiServer]:
    with running_api(
        migrated_database,
        STACK_METRICS_TOKEN=TOKEN,
        STACK_QUEUE_NAMESPACE=NAMESPACE,
        # One /health/email a bucket: the second one is refused by this rule.
        STACK_RATE_LIMITS="email_monitor.ip=1/1h:1",
    ) as server:
        yield server


@pytest.fixture
def client(api_with_token: ApiServer) -> Iterator[httpx.Client]:
    with api_with_token.client() as http:
        yield http


def test_the_token_is_required_when_set(client: httpx.Client) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"authorization": TOKEN}).status_code == 401
    r = client.get("/metrics", headers=BEARER)
    assert r.status_code == 200
    assert "authstack_http_requests_total" in r.text


def test_requests_are_counted_by_route_template_never_by_raw_path(client: httpx.Client) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for project_id in ids:
        assert client.get(f"/api/v1/projects/{project_id}/.well-known/jwks.json").status_code == 200
    assert client.get(f"/api/v1/no-such-route/{ids[0]}").status_code == 404
    r = client.get("/metrics", headers=BEARER)
    assert not any(project_id in r.text for project_id in ids)
    samples = parse(r.text)
    labels = {"route": JWKS_TEMPLATE, "method": "GET"}
    assert (value(samples, "authstack_http_requests_total", **labels, status="200") or 0) >= 3
    unmatched = value(
        samples, "authstack_http_requests_total", route="unmatched", method="GET", status="404"
    )
    assert (unmatched or 0) >= 1
    # the latency histogram of the same template
    assert (value(samples, "authstack_http_request_duration_seconds_count", **labels) or 0) >= 3
    assert value(samples, "authstack_http_request_duration_seconds_bucket", **labels, le="+Inf")


def test_pool_queue_and_sync_gauges_are_exposed(client: httpx.Client) -> None:
    samples = scrape(client, **BEARER)
    # the scrape itself holds a connection while it reads the backlog; the pool's size is known
    assert (value(samples, "authstack_db_pool_max") or 0) >= 1
    assert value(samples, "authstack_db_pool_in_use") is not None
    assert value(samples, "authstack_db_pool_waiting") == 0
    for queue in ("email", "webhook_deliveries", "webhook_events", "external_db_sync"):
        assert value(samples, "authstack_queue_depth", queue=queue) is not None, queue
    assert value(samples, "authstack_external_db_sync_lag_seconds") is not None
    assert value(samples, "authstack_external_db_sync_failing_targets") is not None
    for outcome in ("sent", "retry", "failed", "skipped"):
        assert value(samples, "authstack_email_deliveries_total", outcome=outcome) == 0
    for result in ("written", "dropped", "rejected"):
        assert value(samples, "authstack_clickhouse_events_total", result=result) is not None
    assert value(samples, "authstack_clickhouse_insert_failures_total") is not None


def test_queue_depth_counts_outbox_rows_waiting(
    client: httpx.Client, own_server: tuple[MailSink, Project]
) -> None:
    """No worker consumes this namespace yet: a sent email waits in the outbox."""
    _, project = own_server
    before = value(scrape(client, **BEARER), "authstack_queue_depth", queue="email") or 0
    user = create_user(client, project, primary_email=unique_email("depth"))
    r = send_email(client, project, [user["id"]], html="<p>hi</p>", subject="Depth")
    assert r.status_code == 200, r.text
    after = value(scrape(client, **BEARER), "authstack_queue_depth", queue="email") or 0
    assert after >= before + 1


def test_rate_limit_refusals_are_counted_by_rule(client: httpx.Client) -> None:
    # /health/email counts against email_monitor.ip before answering 503 (no SMTP server set up)
    assert client.get("/health/email").status_code == 503
    assert client.get("/health/email").status_code == 429
    samples = scrape(client, **BEARER)
    assert (value(samples, "authstack_rate_limited_total", rule="email_monitor.ip") or 0) >= 1


def test_the_worker_serves_its_delivery_counters_on_its_metrics_port(
    client: httpx.Client,
    migrated_database: str,
    own_server: tuple[MailSink, Project],
    session_redis: str,
) -> None:
    sink, project = own_server
    port = free_port()
    worker = start_worker(
        migrated_database,
        sink,
        STACK_QUEUE_NAMESPACE=NAMESPACE,
        STACK_WORKER_METRICS_PORT=str(port),
        STACK_METRICS_TOKEN=TOKEN,
        **PRIVATE_TARGETS_ENV,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/other", headers=BEARER).status_code == 404
        email = unique_email("worker-metrics")
        user = create_user(client, project, primary_email=email)
        r = send_email(client, project, [user["id"]], html="<p>hi</p>", subject="Counted")
        assert r.status_code == 200, r.text
        sink.wait_for(email)

        def sent() -> float:
            r = httpx.get(url, headers=BEARER)
            assert r.status_code == 200
            return value(parse(r.text), "authstack_email_deliveries_total", outcome="sent") or 0

        assert wait_until(lambda: sent() >= 1, 20, what="the worker to count the delivery")
        samples = parse(httpx.get(url, headers=BEARER).text)
        assert (value(samples, "authstack_db_pool_max") or 0) >= 1
        assert value(samples, "authstack_webhook_deliveries_total", outcome="failed") == 0
        # the API's own series are not the worker's
        assert not any(name.startswith("authstack_http_") for name, _ in samples)
    finally:
        worker.stop()


def test_two_api_processes_share_their_series_in_multiprocess_mode(
    migrated_database: str, tmp_path: Path
) -> None:
    """Without a token, outside production, loopback clients may scrape."""
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    first = start_api(migrated_database, **shared)
    try:
        second = start_api(migrated_database, **shared)
        try:
            with first.client() as a, second.client() as b:
                for http, times in ((a, 3), (b, 2)):
                    for _ in range(times):
                        assert http.get("/api/v1").status_code == 200
                labels = {"route": "/api/v1", "method": "GET", "status": "200"}
                for http in (a, b):
                    samples = scrape(http)
                    assert value(samples, "authstack_http_requests_total", **labels) == 5
                both = value(scrape(a), "authstack_db_pool_max") or 0
        finally:
            stop_api(second)
        with first.client() as a:
            samples = scrape(a)
            # the stopped process's counts stay; its pool is gone from the live gauges
            assert value(samples, "authstack_http_requests_total", **labels) == 5
            assert value(samples, "authstack_db_pool_max") == both / 2
    finally:
        stop_api(first)
