"""Every endpoint that e-mails a link to a callback URL refuses the bypass table over HTTP.

For each endpoint and each string of ``tests.redirect_cases``: the answer is
REDIRECT_URL_NOT_WHITELISTED (400), and neither a verification code nor an e-mail is queued.
Legitimate URLs are accepted, and the code row holds the browser's serialisation of the URL (the
form the e-mailed link is built from), not the client's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.helpers import PASSWORD, unique_email
from tests.api.team_helpers import create_team, new_user
from tests.conftest import ApiServer, Project, create_project, running_api
from tests.factories import query_value
from tests.redirect_cases import ACCEPTED_TABLES, CONFIGS, REFUSED_TABLES

Send = Callable[[httpx.Client, str], httpx.Response]


@dataclass
class Endpoint:
    project: Project
    send: Send


def _endpoints(http: httpx.Client, project: Project) -> dict[str, Endpoint]:
    """One sender per endpoint taking a callback URL, each set up so that a trusted URL really
    queues an e-mail (a refusal then means something)."""
    client = project.headers()
    server = project.headers("server")

    reset_email = unique_email("reset")
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=client,
        json={"email": reset_email, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text

    channel_owner = new_user(http, project)
    r = http.post(
        "/api/v1/contact-channels",
        headers=server,
        json={
            "type": "email",
            "user_id": channel_owner.id,
            "value": unique_email("channel"),
            "used_for_auth": False,
        },
    )
    assert r.status_code == 201, r.text
    channel_id = r.json()["id"]

    unverified = new_user(http, project, verified=False)
    team = create_team(http, project, display_name="Redirect tests")

    def post(path: str, headers: dict[str, str], body: dict[str, Any]) -> Send:
        return lambda h, url: h.post(path, headers=headers, json={**body, **_url_field(path, url)})

    def fresh(path: str, headers: dict[str, str], body: dict[str, Any]) -> Send:
        """A sender whose body gets a new e-mail address each time (sign-up, OTP, invitation)."""
        return lambda h, url: h.post(
            path, headers=headers, json={**body, "email": unique_email(), **_url_field(path, url)}
        )

    senders: dict[str, Send] = {
        "password-reset": post(
            "/api/v1/auth/password/send-reset-code", client, {"email": reset_email}
        ),
        "otp-magic-link": fresh("/api/v1/auth/otp/send-sign-in-code", client, {}),
        "sign-up-verification": fresh("/api/v1/auth/password/sign-up", client,
                                      {"password": PASSWORD}),
        "contact-channel": post(
            f"/api/v1/contact-channels/{channel_owner.id}/{channel_id}/send-verification-code",
            server,
            {},
        ),
        "contact-channel-deprecated": post(
            "/api/v1/contact-channels/send-verification-code",
            unverified.client(project),
            {"email": unverified.email},
        ),
        "team-invitation": fresh("/api/v1/team-invitations/send-code", server,
                                 {"team_id": team["id"]}),
    }  # fmt: skip
    return {name: Endpoint(project, send) for name, send in senders.items()}


def _url_field(path: str, url: str) -> dict[str, str]:
    name = "verification_callback_url" if path.endswith("/sign-up") else "callback_url"
    return {name: url}


ENDPOINTS = (
    "password-reset",
    "otp-magic-link",
    "sign-up-verification",
    "contact-channel",
    "contact-channel-deprecated",
    "team-invitation",
)


@pytest.fixture(scope="module")
def api(migrated_database: str) -> Iterator[ApiServer]:
    """An API of this module's own with rate limits off: the tables send about 80 mails' worth
    of requests per endpoint from one address, and what they test is the redirect check (the
    limits have their own tests in test_rate_limits.py)."""
    with running_api(migrated_database, STACK_RATE_LIMIT_ENABLED="false") as server:
        yield server


@pytest.fixture(scope="module")
def setups(api: ApiServer) -> Iterator[dict[str, dict[str, Endpoint]]]:
    otp_on = {"auth.otp.allowSignIn": True}
    projects = {
        name: create_project(api.database_url, {**config, **otp_on})
        for name, config in CONFIGS.items()
    }
    with api.client() as http:
        yield {name: _endpoints(http, project) for name, project in projects.items()}


def _queued(database_url: str, project: Project) -> tuple[int, int]:
    """(verification codes, queued e-mails) of the project."""
    codes = query_value(
        database_url, "SELECT count(*) FROM verification_codes WHERE project_id = %s", (project.id,)
    )
    mails = query_value(
        database_url,
        "SELECT count(*) FROM email_outbox WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    return int(codes), int(mails)


def _latest_redirect_url(database_url: str, project: Project) -> str:
    return str(
        query_value(
            database_url,
            "SELECT redirect_url FROM verification_codes WHERE project_id = %s "
            "ORDER BY created_at DESC LIMIT 1",
            (project.id,),
        )
    )


def _is_not_whitelisted(r: httpx.Response) -> bool:
    return (
        r.status_code == 400
        and r.headers.get("x-stack-known-error") == "REDIRECT_URL_NOT_WHITELISTED"
        and r.json().get("code") == "REDIRECT_URL_NOT_WHITELISTED"
    )


@pytest.mark.parametrize("name", ENDPOINTS)
@pytest.mark.parametrize(("setup", "urls"), list(REFUSED_TABLES.values()), ids=list(REFUSED_TABLES))
def test_refused_urls_are_refused_and_nothing_is_queued(
    http: httpx.Client,
    api: ApiServer,
    setups: dict[str, dict[str, Endpoint]],
    name: str,
    setup: str,
    urls: list[str],
) -> None:
    endpoint = setups[setup][name]
    before = _queued(api.database_url, endpoint.project)
    let_through = []
    for url in urls:
        r = endpoint.send(http, url)
        if not _is_not_whitelisted(r):
            let_through.append((url, r.status_code, r.text[:200]))
    assert let_through == []
    assert _queued(api.database_url, endpoint.project) == before


@pytest.mark.parametrize("name", ENDPOINTS)
@pytest.mark.parametrize(
    ("setup", "cases"), list(ACCEPTED_TABLES.values()), ids=list(ACCEPTED_TABLES)
)
def test_accepted_urls_are_stored_as_a_browser_reads_them(
    http: httpx.Client,
    api: ApiServer,
    setups: dict[str, dict[str, Endpoint]],
    name: str,
    setup: str,
    cases: list[tuple[str, str]],
) -> None:
    endpoint = setups[setup][name]
    for url, serialised in cases:
        codes, mails = _queued(api.database_url, endpoint.project)
        r = endpoint.send(http, url)
        assert r.status_code == 200, (url, r.text)
        assert _queued(api.database_url, endpoint.project) == (codes + 1, mails + 1), url
        assert _latest_redirect_url(api.database_url, endpoint.project) == serialised
