"""The endpoints admin API: shapes, secrets shown once and kept sealed, validation, SSRF refusals
(when saving, and again at delivery time), and one project never reaching another's endpoints."""

from __future__ import annotations

import base64
import socket
from typing import Any

import httpx
import pytest

from tests.api.helpers import create_user
from tests.conftest import ApiServer, Project
from tests.factories import query_value
from tests.mail import wait_until
from tests.mail_fixtures import PrivateRedis
from tests.webhooks.conftest import Hooks, OwnStack
from tests.webhooks.support import ENDPOINTS, add_endpoint, attempts, deliveries, send_test

PUBLIC_URL = "https://hooks.example.invalid/receive"  # never resolves: never delivered to


def test_endpoint_shape_and_the_secret_shown_once_and_stored_sealed(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any
) -> None:
    project = hooks.project()
    admin = project.headers("admin")
    created = add_endpoint(
        hooks_http, project, receiver, description="orders", event_types=["user.created"]
    )
    assert set(created) == {
        "id", "url", "description", "event_types", "disabled", "created_at_millis", "secret",
    }  # fmt: skip
    assert created["description"] == "orders"
    assert created["event_types"] == ["user.created"]
    assert created["disabled"] is False
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    shown = hooks_http.get(f"{ENDPOINTS}/{created['id']}", headers=admin).json()
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    sealed = query_value(
        hooks.database_url,
        "SELECT secret_sealed FROM webhook_endpoints WHERE id = %s",
        (created["id"],),
    )
    assert secret.encode() not in bytes(sealed)
    assert secret.removeprefix("whsec_").encode() not in bytes(sealed)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": PUBLIC_URL, "event_types": ["user.exploded"]}, 400),
        ({"url": PUBLIC_URL, "unknown": 1}, 400),
        ({"url": "ftp://example.com/x"}, 400),
        ({"url": "https://user:pw@example.com/x"}, 400),
        ({"url": "not a url"}, 400),
    ],
)
def test_invalid_endpoints_are_refused(
    hooks: Hooks, hooks_http: httpx.Client, body: dict[str, Any], status: int
) -> None:
    project = hooks.project()
    r = hooks_http.post(ENDPOINTS, headers=project.headers("admin"), json=body)
    assert r.status_code == status, r.text


def test_http_is_allowed_only_where_the_project_allows_localhost(
    hooks: Hooks, hooks_http: httpx.Client
) -> None:
    strict = hooks.project({"domains.allowLocalhost": False})
    url = "http://hooks.example.invalid/receive"
    r = hooks_http.post(ENDPOINTS, headers=strict.headers("admin"), json={"url": url})
    assert r.status_code == 400
    assert "https://" in r.text
    relaxed = hooks.project({"domains.allowLocalhost": True})
    r = hooks_http.post(ENDPOINTS, headers=relaxed.headers("admin"), json={"url": url})
    assert r.status_code == 201, r.text


def test_only_the_admin_key_manages_endpoints(hooks: Hooks, hooks_http: httpx.Client) -> None:
    project = hooks.project()
    for access in ("client", "server"):
        r = hooks_http.get(ENDPOINTS, headers=project.headers(access))
        assert r.status_code == 401, r.text


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "localhost", socket.gethostname()],
)
def test_internal_targets_are_refused_when_private_targets_are_not_allowed(
    api: ApiServer, project: Project, host: str
) -> None:
    """The session's API runs with the defaults: no private targets."""
    if host == socket.gethostname():
        resolved = {info[4][0] for info in socket.getaddrinfo(host, 443)}
        assert all(a.startswith(("127.", "::1", "10.", "192.168.", "172.")) for a in resolved)
    with api.client() as http:
        r = http.post(
            ENDPOINTS,
            headers=project.headers("admin"),
            json={"url": f"https://{host}:8443/hook"},
        )
        assert r.status_code == 400, r.text
        assert "not allowed" in r.text
        assert "STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS" in r.text
        assert http.get(ENDPOINTS, headers=project.headers("admin")).json() == {"items": []}


def test_a_name_that_resolves_inside_is_refused_at_delivery_time(
    own_stack: OwnStack, private_redis: PrivateRedis, receiver: Any
) -> None:
    """Saved while allowed (or while the name pointed elsewhere), refused when sending: the
    worker resolves and checks the address at every delivery (DNS rebinding)."""
    api, worker = own_stack.start(private_redis.url)
    project = own_stack.project()
    http = api.client()
    path = "/rebound"
    r = http.post(
        ENDPOINTS,
        headers=project.headers("admin"),
        json={"url": f"http://{socket.gethostname()}:{receiver.port}{path}"},
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    worker.stop()
    own_stack.env["STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "false"
    own_stack.worker()
    create_user(http, project)
    wait_until(
        lambda: deliveries(own_stack.database_url, project) == [("user.created", "failed", 1)],
        what="the delivery to be refused",
    )
    assert receiver.received(path) == []
    [attempt] = attempts(http, project, endpoint["id"])
    assert attempt["status"] == "failed"
    assert attempt["error"].startswith(f"refused: {socket.gethostname()} resolves to")


def test_one_project_cannot_reach_anothers_endpoints(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any
) -> None:
    a, b = hooks.project(), hooks.project()
    endpoint = add_endpoint(hooks_http, b, receiver)
    admin = a.headers("admin")
    base = f"{ENDPOINTS}/{endpoint['id']}"
    assert hooks_http.get(base, headers=admin).status_code == 404
    assert hooks_http.patch(base, headers=admin, json={"disabled": True}).status_code == 404
    assert hooks_http.post(f"{base}/rotate-secret", headers=admin).status_code == 404
    assert hooks_http.get(f"{base}/attempts", headers=admin).status_code == 404
    assert hooks_http.delete(base, headers=admin).status_code == 404
    assert send_test(hooks_http, a, endpoint["id"])["success"] is False
    assert receiver.received() == []
    assert hooks_http.get(ENDPOINTS, headers=admin).json() == {"items": []}
    still = hooks_http.get(base, headers=b.headers("admin")).json()
    assert still["disabled"] is False
